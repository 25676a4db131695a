import { type JwksServer, startJwksServer } from '@lucid/test-kit';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { AUDIENCE, ISSUER, SECRET, secretBytes, sign, type TestKey, testKey } from './helpers/keys.js';
import { type AuthStack, bearer, startAuthStack } from './helpers/stack.js';

const FAMILIES = ['RS256', 'RS512', 'PS256', 'ES256', 'ES384', 'ES512', 'EdDSA'] as const;
const keys = new Map<string, TestKey>();
let jwks: JwksServer;

beforeAll(async () => {
  for (const alg of FAMILIES) keys.set(alg, await testKey(alg));
  jwks = await startJwksServer([...keys.values()].map((k) => k.jwk));
});
afterAll(() => jwks.close());

let stack: AuthStack | undefined;
afterEach(async () => {
  await stack?.close();
  stack = undefined;
});

const jwt = { issuer: ISSUER, audience: AUDIENCE };

describe('valid tokens pass, per algorithm family', () => {
  it('from a real JWKS endpoint: RSA, RSA-PSS, ECDSA on three curves, EdDSA', async () => {
    stack = await startAuthStack({ jwt: { ...jwt, jwks: jwks.url, algorithms: [...FAMILIES] } });
    for (const alg of FAMILIES) {
      const key = keys.get(alg)!;
      const token = await sign(key.privateKey, alg, { kid: key.kid, claims: { sub: `user-${alg}` } });
      const res = await stack.get('/api/me', bearer(token));
      expect(res.status, alg).toBe(200);
      expect(stack.proxied().at(-1)?.headers['x-user-id'], alg).toBe(`user-${alg}`);
    }
    expect(jwks.fetches).toBeGreaterThan(0);
  });

  for (const alg of FAMILIES) {
    it(`from a PEM public key imported at startup: ${alg}`, async () => {
      const key = keys.get(alg)!;
      stack = await startAuthStack({ jwt: { ...jwt, publicKey: key.pem, algorithms: [alg] } });
      const res = await stack.get('/api/x', bearer(await sign(key.privateKey, alg)));
      expect(res.status).toBe(200);
    });
  }

  it('from a public JWK in the config', async () => {
    const key = keys.get('ES256')!;
    stack = await startAuthStack({ jwt: { ...jwt, publicKey: key.jwk as { kty: string } } });
    expect((await stack.get('/api/x', bearer(await sign(key.privateKey, 'ES256')))).status).toBe(200);
  });

  it('from a shared secret: HS256 by default, HS384 when allowed', async () => {
    stack = await startAuthStack({ jwt: { ...jwt, secret: SECRET, algorithms: ['HS256', 'HS384'] } });
    expect((await stack.get('/api/x', bearer(await sign(secretBytes(), 'HS256')))).status).toBe(200);
    expect((await stack.get('/api/x', bearer(await sign(secretBytes(), 'HS384')))).status).toBe(200);
    expect((await stack.get('/api/x', bearer(await sign(secretBytes(), 'HS512')))).status).toBe(401);
  });
});
