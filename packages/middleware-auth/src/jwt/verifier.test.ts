import { createHmac, createPublicKey } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  AUDIENCE,
  hmacWithPublicKey,
  ISSUER,
  SECRET,
  secretBytes,
  sign,
  testKey,
} from '../../test/helpers/keys.js';
import { authConfigSchema, type JwtOptions } from '../config/schema.js';
import { importSecret } from '../keys/static-key.js';
import type { AuthFailure } from './failure.js';
import { createJwtVerifier } from './verifier.js';

const jwtOptions = (extra: Record<string, unknown>): JwtOptions =>
  authConfigSchema.parse({ jwt: { issuer: ISSUER, audience: AUDIENCE, secret: SECRET, ...extra } }).jwt!;

const reasonOf = (p: Promise<unknown>) =>
  p.then(
    () => 'accepted',
    (err: AuthFailure) => err.reason,
  );

describe('createJwtVerifier', () => {
  it('enforces maxTokenAge on iat', async () => {
    const verify = createJwtVerifier(jwtOptions({ maxTokenAge: '1m' }), importSecret(SECRET));
    const now = Math.floor(Date.now() / 1000);
    expect(await reasonOf(verify(await sign(secretBytes(), 'HS256', { iat: now - 10 })))).toBe('accepted');
    expect(await reasonOf(verify(await sign(secretBytes(), 'HS256', { iat: now - 300 })))).toBe('too_old');
  });

  it('uses the configured clock tolerance', async () => {
    const verify = createJwtVerifier(jwtOptions({ clockTolerance: '0s' }), importSecret(SECRET));
    expect(await reasonOf(verify(await sign(secretBytes(), 'HS256', { expiresIn: -5 })))).toBe('expired');
  });

  it('accepts any of several issuers and audiences', async () => {
    const verify = createJwtVerifier(
      jwtOptions({ issuer: ['https://a.example/', ISSUER], audience: ['x', AUDIENCE] }),
      importSecret(SECRET),
    );
    expect(await reasonOf(verify(await sign(secretBytes(), 'HS256')))).toBe('accepted');
  });

  it('checks typ when configured (RFC 9068 access tokens)', async () => {
    const verify = createJwtVerifier(jwtOptions({ typ: 'at+jwt' }), importSecret(SECRET));
    expect(await reasonOf(verify(await sign(secretBytes(), 'HS256')))).toBe('bad_type');
    expect(await reasonOf(verify(await sign(secretBytes(), 'HS256', { header: { typ: 'at+jwt' } })))).toBe(
      'accepted',
    );
  });

  it('refuses unknown critical header parameters (RFC 7515 §4.1.11)', async () => {
    const verify = createJwtVerifier(jwtOptions({}), importSecret(SECRET));
    const now = Math.floor(Date.now() / 1000);
    const b64 = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url');
    const input = `${b64({ alg: 'HS256', crit: ['x-custom'], 'x-custom': 1 })}.${b64({ iss: ISSUER, aud: AUDIENCE, exp: now + 60 })}`;
    const token = `${input}.${createHmac('sha256', SECRET).update(input).digest('base64url')}`;
    expect(await reasonOf(verify(token))).toBe('unsupported');
  });

  it('even with HS256 wrongly allowed, a public key cannot verify an HMAC token (a second, independent guard)', async () => {
    const rsa = await testKey('RS256');
    const jwt = { ...jwtOptions({}), algorithms: ['HS256' as const] };
    const verify = createJwtVerifier(jwt, createPublicKey(rsa.pem));
    expect(await reasonOf(verify(hmacWithPublicKey(rsa.pem)))).not.toBe('accepted');
  });
});
