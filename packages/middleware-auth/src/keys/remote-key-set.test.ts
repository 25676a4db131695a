import { type JwksServer, startJwksServer } from '@lucid/test-kit';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { AUDIENCE, ISSUER, sign, type TestKey, testKey } from '../../test/helpers/keys.js';
import { authConfigSchema } from '../config/schema.js';
import type { AuthFailure } from '../jwt/failure.js';
import { createJwtVerifier } from '../jwt/verifier.js';
import { createRemoteKeySet, type RemoteKeySet } from './remote-key-set.js';

let server: JwksServer | undefined;
let keySet: RemoteKeySet | undefined;
let oldKey: TestKey;
let newKey: TestKey;

beforeAll(async () => {
  oldKey = await testKey('RS256', 'old');
  newKey = await testKey('RS256', 'new');
});

afterEach(async () => {
  keySet?.close();
  keySet = undefined;
  await server?.close();
  server = undefined;
});

async function setup(
  opts: {
    cooldown?: number;
    timeout?: number;
    cacheMaxAge?: number;
    breakerFailures?: number;
    breakerCooldown?: number;
  } = {},
) {
  server = await startJwksServer([oldKey.jwk]);
  const jwt = authConfigSchema.parse({ jwt: { jwks: server.url, issuer: ISSUER, audience: AUDIENCE } }).jwt!;
  keySet = createRemoteKeySet({
    uri: server.url,
    cooldown: 60_000,
    timeout: 5_000,
    cacheMaxAge: 600_000,
    ...opts,
  });
  return { server, keySet, verify: createJwtVerifier(jwt, keySet.getKey) };
}

const reasonOf = (p: Promise<unknown>) =>
  p.then(
    () => 'accepted',
    (err: AuthFailure) => err.reason,
  );

describe('createRemoteKeySet', () => {
  it('fetches the set on first use and then verifies from memory', async () => {
    const { server, verify } = await setup();
    const token = await sign(oldKey.privateKey, 'RS256', { kid: 'old' });
    expect((await verify(token)).sub).toBe('user-1');
    expect((await verify(await sign(oldKey.privateKey, 'RS256', { kid: 'old' }))).sub).toBe('user-1');
    expect(server.fetches).toBe(1);
  });

  it('picks up a rotated key: an unknown kid refetches once the cooldown is over', async () => {
    const { server, verify, keySet } = await setup({ cooldown: 0 });
    await verify(await sign(oldKey.privateKey, 'RS256', { kid: 'old' }));
    server.setKeys([newKey.jwk]);
    expect((await verify(await sign(newKey.privateKey, 'RS256', { kid: 'new' }))).sub).toBe('user-1');
    expect(server.fetches).toBe(2);
    expect(keySet.state()).toMatchObject({ keys: 1, lastError: undefined });
  });

  it('does not refetch for unknown kids during the cooldown', async () => {
    const { server, verify } = await setup({ cooldown: 3_600_000 });
    await verify(await sign(oldKey.privateKey, 'RS256', { kid: 'old' }));
    const forged = await sign(newKey.privateKey, 'RS256', { kid: 'made-up' });
    expect(await reasonOf(verify(forged))).toBe('unknown_key');
    expect(await reasonOf(verify(forged))).toBe('unknown_key');
    expect(server.fetches).toBe(1);
  });

  it('keeps serving the keys it holds while a refresh fails', async () => {
    const { server, verify, keySet } = await setup({ cacheMaxAge: 0 });
    await verify(await sign(oldKey.privateKey, 'RS256', { kid: 'old' }));
    server.mode = 'error';
    // Stale keys: this starts a background refresh and still answers from the old set.
    expect((await verify(await sign(oldKey.privateKey, 'RS256', { kid: 'old' }))).sub).toBe('user-1');
    await server.waitForFetches(2);
    await expect.poll(() => keySet.state().lastError).toBe('key set endpoint answered HTTP 500');
    expect((await verify(await sign(oldKey.privateKey, 'RS256', { kid: 'old' }))).sub).toBe('user-1');
    expect(keySet.state().keys).toBe(1);
  });

  it('says the keys are unavailable (not that the token is bad) when the set never loaded, and waits before retrying', async () => {
    const { server, verify } = await setup();
    server.mode = 'error';
    const token = await sign(oldKey.privateKey, 'RS256', { kid: 'old' });
    expect(await reasonOf(verify(token))).toBe('keys_unavailable');
    expect(await reasonOf(verify(token))).toBe('keys_unavailable');
    expect(server.fetches).toBe(1);
  });

  it('gives up on a fetch after the timeout', async () => {
    const { server, verify, keySet } = await setup({ timeout: 200 });
    server.mode = 'hang';
    expect(await reasonOf(verify(await sign(oldKey.privateKey, 'RS256', { kid: 'old' })))).toBe(
      'keys_unavailable',
    );
    expect(keySet.state().lastError).toBe('timed out');
  });

  it('aborts a fetch in flight when closed', async () => {
    const { server, verify, keySet } = await setup({ timeout: 60_000 });
    server.mode = 'hang';
    const pending = reasonOf(verify(await sign(oldKey.privateKey, 'RS256', { kid: 'old' })));
    await server.waitForFetches(1);
    keySet.close();
    expect(await pending).toBe('keys_unavailable');
  });

  it('tries each matching key for a token without kid (two keys during a rotation)', async () => {
    const { server, verify } = await setup();
    const { kid: _a, ...oldNoKid } = oldKey.jwk;
    const { kid: _b, ...newNoKid } = newKey.jwk;
    server.setKeys([oldNoKid, newNoKid]);
    expect((await verify(await sign(newKey.privateKey, 'RS256'))).sub).toBe('user-1');
    const other = await testKey('RS256');
    expect(await reasonOf(verify(await sign(other.privateKey, 'RS256')))).toBe('bad_signature');
  });

  describe('breaker for an endpoint that accepts and never answers', () => {
    it('after 3 timeouts in a row, requests fail fast without a fetch each', async () => {
      const { server, verify, keySet } = await setup({
        cooldown: 0,
        timeout: 150,
        breakerFailures: 3,
        breakerCooldown: 3_600_000,
      });
      server.mode = 'hang';
      const token = await sign(oldKey.privateKey, 'RS256', { kid: 'old' });
      for (let i = 0; i < 3; i++) expect(await reasonOf(verify(token))).toBe('keys_unavailable');
      expect(server.fetches).toBe(3);
      expect(keySet.state().breakerOpen).toBe(true);
      // Open: ten more requests get the outage answer, and the hung server sees none of them.
      for (let i = 0; i < 10; i++) expect(await reasonOf(verify(token))).toBe('keys_unavailable');
      expect(server.fetches).toBe(3);
      expect(keySet.state()).toMatchObject({ lastError: 'timed out', breakerOpen: true });
    });

    it('probes in the background, one at a time, and resumes verification once the endpoint answers', async () => {
      const { server, verify, keySet } = await setup({
        cooldown: 0,
        timeout: 150,
        breakerFailures: 2,
        breakerCooldown: 50,
      });
      server.mode = 'hang';
      const token = await sign(oldKey.privateKey, 'RS256', { kid: 'old' });
      for (let i = 0; i < 2; i++) expect(await reasonOf(verify(token))).toBe('keys_unavailable');
      expect(keySet.state().breakerOpen).toBe(true);
      // Two probes reach the hung server and time out; requests meanwhile add no fetches of their own.
      const before = server.fetches;
      for (let i = 0; i < 5; i++) expect(await reasonOf(verify(token))).toBe('keys_unavailable');
      await server.waitForFetches(before + 2);
      expect(keySet.state().breakerOpen).toBe(true);
      server.mode = 'ok';
      await expect.poll(() => keySet.state().breakerOpen).toBe(false);
      expect((await verify(token)).sub).toBe('user-1');
      expect(keySet.state()).toMatchObject({ keys: 1, lastError: undefined });
    });

    it('is not opened by endpoints that answer with an error (those already wait before retrying)', async () => {
      const { server, verify, keySet } = await setup({ cooldown: 0, breakerFailures: 1 });
      server.mode = 'error';
      const token = await sign(oldKey.privateKey, 'RS256', { kid: 'old' });
      expect(await reasonOf(verify(token))).toBe('keys_unavailable');
      expect(keySet.state().breakerOpen).toBe(false);
    });
  });
});
