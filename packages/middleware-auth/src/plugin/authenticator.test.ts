import type { IncomingMessage } from 'node:http';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { AUDIENCE, ISSUER, SECRET, secretBytes, sign } from '../../test/helpers/keys.js';
import { createApiKeyLookup, hashApiKey } from '../api-keys/api-keys.js';
import { authConfigSchema } from '../config/schema.js';
import { createTokenCache } from '../identity/token-cache.js';
import type { AuthFailure } from '../jwt/failure.js';
import { createJwtVerifier, type VerifyJwt } from '../jwt/verifier.js';
import { importSecret } from '../keys/static-key.js';
import { createAuthenticator } from './authenticator.js';

const options = authConfigSchema.parse({
  jwt: { secret: SECRET, issuer: ISSUER, audience: AUDIENCE, maxTokenSize: '1kb' },
  apiKeys: {
    keys: [{ id: 'billing-bot', sha256: hashApiKey('k-123'), tier: 'enterprise', scopes: ['billing'] }],
  },
});
const jwt = options.jwt!;
const identity = { tierClaim: options.tierClaim, scopesClaim: options.scopesClaim, forward: options.forward };

/** A verifier that counts the signature checks it does. */
function countingVerifier() {
  const real = createJwtVerifier(jwt, importSecret(SECRET));
  const counter = { calls: 0 };
  const verify: VerifyJwt = (token) => {
    counter.calls++;
    return real(token);
  };
  return { verify, counter };
}

const request = (headers: Array<[string, string]>) =>
  ({
    headers: Object.fromEntries(headers.map(([k, v]) => [k.toLowerCase(), v])),
    rawHeaders: headers.flat(),
  }) as unknown as IncomingMessage;

const refusal = (p: Promise<unknown>) =>
  p.then(
    () => {
      throw new Error('expected a refusal');
    },
    (err: AuthFailure) => err.reason,
  );

afterEach(() => {
  vi.useRealTimers();
});

describe('createAuthenticator', () => {
  const setup = () => {
    const { verify, counter } = countingVerifier();
    const authenticate = createAuthenticator({
      jwt: { options: jwt, verify },
      apiKeys: { header: 'x-api-key', lookup: createApiKeyLookup(options.apiKeys!, identity) },
      identity,
      cache: createTokenCache(100, 300_000),
    });
    return { authenticate, counter };
  };

  it('verifies a token once; later requests with it are a cache lookup', async () => {
    const { authenticate, counter } = setup();
    const token = await sign(secretBytes(), 'HS256');
    const first = await authenticate(request([['Authorization', `Bearer ${token}`]]));
    const second = await authenticate(request([['Authorization', `Bearer ${token}`]]));
    expect(second).toBe(first);
    expect(first.claims.sub).toBe('user-1');
    expect(counter.calls).toBe(1);
  });

  it('shares one verification between concurrent first requests with the same token', async () => {
    const { authenticate, counter } = setup();
    const token = await sign(secretBytes(), 'HS256');
    const all = await Promise.all(
      Array.from({ length: 5 }, () => authenticate(request([['authorization', `Bearer ${token}`]]))),
    );
    expect(new Set(all).size).toBe(1);
    expect(counter.calls).toBe(1);
  });

  it('a cached token stops working when it expires (exp plus the clock tolerance)', async () => {
    vi.useFakeTimers({ toFake: ['Date'] });
    const { authenticate, counter } = setup();
    const token = await sign(secretBytes(), 'HS256', { expiresIn: 60 });
    await authenticate(request([['authorization', `Bearer ${token}`]]));
    vi.setSystemTime(Date.now() + 60_000 + jwt.clockTolerance - 1_000);
    await authenticate(request([['authorization', `Bearer ${token}`]]));
    expect(counter.calls).toBe(1);
    vi.setSystemTime(Date.now() + 2_000);
    expect(await refusal(authenticate(request([['authorization', `Bearer ${token}`]])))).toBe('expired');
    expect(counter.calls).toBe(2);
  });

  it('never caches a refused token', async () => {
    const { authenticate, counter } = setup();
    const token = await sign(secretBytes(), 'HS256', { expiresIn: -120 });
    expect(await refusal(authenticate(request([['authorization', `Bearer ${token}`]])))).toBe('expired');
    expect(await refusal(authenticate(request([['authorization', `Bearer ${token}`]])))).toBe('expired');
    expect(counter.calls).toBe(2);
  });

  it('refuses a second Authorization header even when the first holds a cached valid token', async () => {
    const { authenticate } = setup();
    const token = await sign(secretBytes(), 'HS256');
    await authenticate(request([['Authorization', `Bearer ${token}`]]));
    const twice = request([
      ['Authorization', `Bearer ${token}`],
      ['authorization', 'Bearer other'],
    ]);
    expect(await refusal(authenticate(twice))).toBe('duplicate_header');
  });

  it('checks the size before parsing or verifying', async () => {
    const { authenticate, counter } = setup();
    const token = await sign(secretBytes(), 'HS256', { claims: { pad: 'x'.repeat(2000) } });
    expect(await refusal(authenticate(request([['authorization', `Bearer ${token}`]])))).toBe('too_large');
    expect(counter.calls).toBe(0);
  });

  it('names a missing and a malformed credential', async () => {
    const { authenticate } = setup();
    expect(await refusal(authenticate(request([])))).toBe('missing');
    expect(await refusal(authenticate(request([['authorization', 'Basic dXNlcjpwYXNz']])))).toBe('malformed');
    expect(await refusal(authenticate(request([['authorization', 'Bearer not-a-jwt']])))).toBe('malformed');
  });

  it('accepts a configured API key when no bearer token is sent, and refuses an unknown one', async () => {
    const { authenticate } = setup();
    const machine = await authenticate(request([['x-api-key', 'k-123']]));
    expect(machine.claims).toEqual({
      sub: 'billing-bot',
      client_id: 'billing-bot',
      tier: 'enterprise',
      scope: 'billing',
    });
    expect(machine.tier).toBe('enterprise');
    expect(await refusal(authenticate(request([['x-api-key', 'k-124']])))).toBe('invalid_api_key');
  });
});
