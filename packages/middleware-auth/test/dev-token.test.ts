import { ConfigError } from '@lucid/gateway-core';
import { decodeJwt } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signDevToken } from '../src/index.js';
import { AUDIENCE, ISSUER, SECRET } from './helpers/keys.js';
import { type AuthStack, bearer, startAuthStack } from './helpers/stack.js';

let stack: AuthStack;
beforeAll(async () => {
  stack = await startAuthStack({ jwt: { secret: SECRET, issuer: ISSUER, audience: AUDIENCE } });
});
afterAll(() => stack.close());

describe('signDevToken', () => {
  it('mints a token the plugin accepts, with tier and scopes', async () => {
    const token = await signDevToken({
      secret: SECRET,
      sub: 'dev-1',
      tier: 'premium',
      scopes: ['admin', 'read'],
      ttl: '5m',
      issuer: ISSUER,
      audience: AUDIENCE,
    });
    const res = await stack.get('/admin/x', bearer(token));
    expect(res.status).toBe(200);
    const seen = stack.proxied().at(-1)!;
    expect(seen.headers['x-user-id']).toBe('dev-1');
    expect(seen.headers['x-user-tier']).toBe('premium');
    expect(seen.headers['x-user-scopes']).toBe('admin read');
    const claims = decodeJwt(token);
    expect(claims.exp! - claims.iat!).toBe(300);
    expect(claims.jti).toEqual(expect.any(String));
  });

  it('is refused by a gateway with another audience', async () => {
    const token = await signDevToken({ secret: SECRET, sub: 'dev-1', issuer: ISSUER, audience: 'elsewhere' });
    expect((await stack.get('/api/x', bearer(token))).status).toBe(401);
  });

  it('refuses a secret too short for its algorithm, as the plugin would', async () => {
    await expect(
      signDevToken({ secret: 'short', sub: 'x', issuer: ISSUER, audience: AUDIENCE }),
    ).rejects.toBeInstanceOf(ConfigError);
    await expect(
      signDevToken({ secret: SECRET, sub: 'x', issuer: ISSUER, audience: AUDIENCE, algorithm: 'HS512' }),
    ).rejects.toThrow(/at least 64 bytes/);
  });
});
