import { type JwksServer, startJwksServer } from '@lucid/test-kit';
import { afterEach, describe, expect, it } from 'vitest';
import { AUDIENCE, ISSUER, sign, testKey } from './helpers/keys.js';
import { type AuthStack, bearer, startAuthStack } from './helpers/stack.js';

let jwks: JwksServer | undefined;
let stack: AuthStack | undefined;
afterEach(async () => {
  await stack?.close();
  await jwks?.close();
  stack = undefined;
  jwks = undefined;
});

const config = (uri: string, extra: Record<string, unknown> = {}) => ({
  jwt: {
    issuer: ISSUER,
    audience: AUDIENCE,
    algorithms: ['RS256' as const, 'ES256' as const],
    jwks: { uri, cooldown: 0, ...extra },
  },
});

describe('key rotation at the JWKS endpoint', () => {
  it('is picked up without a restart, and a retired key stops working for new tokens', async () => {
    const a = await testKey('RS256', 'key-a');
    const b = await testKey('ES256', 'key-b');
    jwks = await startJwksServer([a.jwk]);
    stack = await startAuthStack(config(jwks.url));

    expect(
      (await stack.get('/api/x', bearer(await sign(a.privateKey, 'RS256', { kid: 'key-a' })))).status,
    ).toBe(200);
    // Before the rotation, b is unknown.
    expect(
      (await stack.get('/api/x', bearer(await sign(b.privateKey, 'ES256', { kid: 'key-b' })))).status,
    ).toBe(401);

    jwks.setKeys([b.jwk]);
    const fetches = jwks.fetches;
    const res = await stack.get(
      '/api/x',
      bearer(await sign(b.privateKey, 'ES256', { kid: 'key-b', claims: { sub: 'after' } })),
    );
    expect(res.status).toBe(200);
    expect(stack.proxied().at(-1)?.headers['x-user-id']).toBe('after');
    expect(jwks.fetches).toBe(fetches + 1);

    const retired = await stack.get(
      '/api/x',
      bearer(await sign(a.privateKey, 'RS256', { kid: 'key-a', claims: { sub: 'new' } })),
    );
    expect(retired.status).toBe(401);
    expect(retired.json()).toMatchObject({ detail: 'token signing key not found' });
  });

  it('answers 503 (not 401) while the key set cannot be fetched, and recovers when it can', async () => {
    const a = await testKey('RS256', 'key-a');
    jwks = await startJwksServer([a.jwk]);
    jwks.mode = 'error';
    stack = await startAuthStack(config(jwks.url));
    const token = await sign(a.privateKey, 'RS256', { kid: 'key-a' });

    const down = await stack.get('/api/x', bearer(token));
    expect(down.status).toBe(503);
    expect(down.json()).toMatchObject({
      code: 'GW_AUTH_UNAVAILABLE',
      detail: 'signing keys unavailable',
    });
    const health = (await stack.get('/health')).json<{ components: Record<string, unknown> }>();
    expect(health.components.auth).toMatchObject({ healthy: false, detail: { jwks: { keys: 0 } } });

    jwks.mode = 'ok';
    expect((await stack.get('/api/x', bearer(token))).status).toBe(200);
    const after = (await stack.get('/health')).json<{ components: Record<string, unknown> }>();
    expect(after.components.auth).toMatchObject({
      healthy: true,
      detail: { keySource: 'jwks', jwks: { keys: 1 } },
    });
  });

  it('keeps verifying with the keys it holds while the endpoint is down', async () => {
    const a = await testKey('RS256', 'key-a');
    jwks = await startJwksServer([a.jwk]);
    // Every use finds the keys stale, so each one starts a background refresh.
    stack = await startAuthStack(config(jwks.url, { cacheMaxAge: 0 }));
    expect(
      (await stack.get('/api/x', bearer(await sign(a.privateKey, 'RS256', { kid: 'key-a' })))).status,
    ).toBe(200);
    jwks.mode = 'error';
    const fetches = jwks.fetches;
    expect(
      (
        await stack.get(
          '/api/x',
          bearer(await sign(a.privateKey, 'RS256', { kid: 'key-a', claims: { n: 1 } })),
        )
      ).status,
    ).toBe(200);
    await jwks.waitForFetches(fetches + 1);
    expect(
      (
        await stack.get(
          '/api/x',
          bearer(await sign(a.privateKey, 'RS256', { kid: 'key-a', claims: { n: 2 } })),
        )
      ).status,
    ).toBe(200);
  });
});
