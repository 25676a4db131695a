import { type JwksServer, startJwksServer } from '@lucid/test-kit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  AUDIENCE,
  hmacWithPublicKey,
  ISSUER,
  type SignOptions,
  sign,
  type TestKey,
  testKey,
  unsignedToken,
} from './helpers/keys.js';
import { type AuthStack, bearer, startAuthStack } from './helpers/stack.js';

let rsa: TestKey;
let stranger: TestKey;
let jwks: JwksServer;
const stacks: Record<'jwks' | 'pem', AuthStack> = {} as never;

beforeAll(async () => {
  rsa = await testKey('RS256', 'main');
  stranger = await testKey('RS256', 'main');
  jwks = await startJwksServer([rsa.jwk]);
  const jwt = { issuer: ISSUER, audience: AUDIENCE, algorithms: ['RS256' as const] };
  // A long cooldown: an unknown kid must not be able to trigger refetches.
  stacks.jwks = await startAuthStack({ jwt: { ...jwt, jwks: { uri: jwks.url, cooldown: '1h' } } });
  stacks.pem = await startAuthStack({ jwt: { ...jwt, publicKey: rsa.pem } });
});

afterAll(async () => {
  await Promise.all(Object.values(stacks).map((s) => s.close()));
  await jwks.close();
});

const valid = (opts: SignOptions = {}) => sign(rsa.privateKey, 'RS256', { kid: 'main', ...opts });
const now = () => Math.floor(Date.now() / 1000);

/** Each hostile or broken credential, with the detail the client should read. */
const CASES: Array<[string, () => Promise<Record<string, string | string[]>>, string]> = [
  ['an expired token', async () => bearer(await valid({ expiresIn: -120 })), 'token expired'],
  ['a token not yet valid', async () => bearer(await valid({ nbf: now() + 600 })), 'token not yet valid'],
  [
    'a wrong issuer',
    async () => bearer(await valid({ issuer: 'https://evil.example/' })),
    'token issuer not accepted',
  ],
  [
    'a wrong audience',
    async () => bearer(await valid({ audience: 'other-api' })),
    'token audience not accepted',
  ],
  ['a token without exp', async () => bearer(await valid({ expiresIn: null })), 'token has no "exp" claim'],
  ['a token without iss', async () => bearer(await valid({ issuer: null })), 'token has no "iss" claim'],
  [
    'a bad signature',
    async () => bearer(await sign(stranger.privateKey, 'RS256', { kid: 'main' })),
    'token signature invalid',
  ],
  [
    'a payload changed after signing',
    async () => {
      const [h, , s] = (await valid()).split('.');
      const forged = Buffer.from(
        JSON.stringify({ sub: 'admin', iss: ISSUER, aud: AUDIENCE, exp: now() + 300 }),
      );
      return bearer(`${h}.${forged.toString('base64url')}.${s}`);
    },
    'token signature invalid',
  ],
  ['alg: none', async () => bearer(unsignedToken()), 'token algorithm not accepted'],
  [
    'HS256 signed with the RSA public key',
    async () => bearer(hmacWithPublicKey(rsa.pem)),
    'token algorithm not accepted',
  ],
  [
    'a token of 9 KiB',
    async () => bearer(await valid({ claims: { pad: 'x'.repeat(9 * 1024) } })),
    'token too large',
  ],
  [
    'two Authorization headers',
    async () => ({
      authorization: [`Bearer ${await valid()}`, `Bearer ${await valid({ claims: { sub: 'admin' } })}`],
    }),
    'more than one Authorization header',
  ],
  [
    'a Basic credential',
    async () => ({ authorization: 'Basic dXNlcjpwYXNz' }),
    'expected "Authorization: Bearer <token>"',
  ],
  ['garbage', async () => bearer('a.b.c'), 'token malformed'],
];

describe.each(['jwks', 'pem'] as const)('refusals (%s keys)', (source) => {
  it.each(CASES)(
    '%s is a 401 with an invalid_token challenge, and never reaches the upstream',
    async (_, headers, detail) => {
      const stack = stacks[source];
      const before = stack.proxied().length;
      const sent = await headers();
      const res = await stack.get('/api/data', sent);
      expect(res.status).toBe(401);
      expect(res.headers['content-type']).toBe('application/problem+json');
      expect(res.json()).toMatchObject({ code: 'GW_UNAUTHORIZED', detail });
      expect(res.headers['www-authenticate']).toMatch(
        /^Bearer realm="lucid-api-gateway", error="invalid_token", error_description="[^"]+"$/,
      );
      // The answer names the problem, never the credential.
      const token = String(sent.authorization).split(' ').at(-1)!;
      expect(res.text).not.toContain(token.slice(-20));
      expect(stack.proxied().length).toBe(before);
    },
  );

  it('a missing token is a 401 whose challenge carries no error code (RFC 6750 §3.1)', async () => {
    const res = await stacks[source].get('/api/data');
    expect(res.status).toBe(401);
    expect(res.json()).toMatchObject({ detail: 'no bearer token' });
    expect(res.headers['www-authenticate']).toBe('Bearer realm="lucid-api-gateway"');
  });

  it('accepts a token that expired within the clock tolerance (30s)', async () => {
    expect((await stacks[source].get('/api/data', bearer(await valid({ expiresIn: -10 })))).status).toBe(200);
  });
});

describe('refusals specific to a key set', () => {
  it('an unknown kid is a 401 and, within the cooldown, fetches nothing', async () => {
    await stacks.jwks.get('/api/data', bearer(await valid()));
    const fetches = jwks.fetches;
    const other = await testKey('RS256', 'unknown');
    const res = await stacks.jwks.get(
      '/api/data',
      bearer(await sign(other.privateKey, 'RS256', { kid: 'unknown' })),
    );
    expect(res.status).toBe(401);
    expect(res.json()).toMatchObject({ detail: 'token signing key not found' });
    expect(jwks.fetches).toBe(fetches);
  });
});
