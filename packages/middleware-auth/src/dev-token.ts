import { randomUUID } from 'node:crypto';
import { duration, parseWith } from '@lucid/gateway-core';
import { SignJWT } from 'jose';
import { z } from 'zod';
import { HMAC_ALGORITHMS, HMAC_MIN_SECRET_BYTES } from './config/algorithms.js';
import { DEFAULT_TIER_CLAIM } from './config/schema.js';
import { importSecret } from './keys/static-key.js';

const devTokenSchema = z
  .strictObject({
    secret: z.string().min(1),
    sub: z.string().min(1),
    tier: z.string().min(1).optional(),
    scopes: z.array(z.string().min(1)).default([]),
    ttl: duration.default(15 * 60_000),
    issuer: z.string().min(1),
    audience: z.union([z.string().min(1), z.array(z.string().min(1)).nonempty()]),
    algorithm: z.enum(HMAC_ALGORITHMS).default('HS256'),
    /** The claim the tier goes in; match the config's `auth.tierClaim`. */
    tierClaim: z.string().min(1).default(DEFAULT_TIER_CLAIM),
  })
  .superRefine((o, ctx) => {
    const need = HMAC_MIN_SECRET_BYTES[o.algorithm];
    if (Buffer.byteLength(o.secret, 'utf8') < need) {
      ctx.addIssue({
        code: 'custom',
        path: ['secret'],
        message: `too short for ${o.algorithm}: at least ${need} bytes`,
      });
    }
    if (o.ttl < 1000) ctx.addIssue({ code: 'custom', path: ['ttl'], message: 'at least 1s' });
  });

export type DevTokenOptions = z.input<typeof devTokenSchema>;

/**
 * Mints an HMAC-signed token that `jwtAuth` with the same secret, issuer and audience accepts:
 * `sub`, the tier claim, `scope` (space-separated), `iat`, `exp` and a random `jti`.
 * For development and tests (the CLI's `token` command); production tokens come from an identity provider.
 *
 * @example
 * const token = await signDevToken({ secret, sub: 'user-1', tier: 'premium', scopes: ['read'],
 *   ttl: '1h', issuer: 'lucid-auth', audience: 'lucid-api' });
 */
export async function signDevToken(opts: DevTokenOptions): Promise<string> {
  const o = parseWith(devTokenSchema, opts);
  const claims: Record<string, unknown> = {};
  if (o.tier !== undefined) claims[o.tierClaim] = o.tier;
  if (o.scopes.length > 0) claims.scope = o.scopes.join(' ');
  const now = Math.floor(Date.now() / 1000);
  return new SignJWT(claims)
    .setProtectedHeader({ alg: o.algorithm, typ: 'JWT' })
    .setSubject(o.sub)
    .setIssuer(o.issuer)
    .setAudience(o.audience)
    .setIssuedAt(now)
    .setExpirationTime(now + Math.ceil(o.ttl / 1000))
    .setJti(randomUUID())
    .sign(importSecret(o.secret));
}
