import { createHmac } from 'node:crypto';
import { CompactSign, type CryptoKey, exportJWK, exportSPKI, generateKeyPair, type JWK, SignJWT } from 'jose';

export interface TestKey {
  alg: string;
  kid: string;
  privateKey: CryptoKey;
  publicKey: CryptoKey;
  /** The public JWK as a JWKS endpoint publishes it (`kid`, `alg`, `use`). */
  jwk: JWK;
  pem: string;
}

/** A fresh key pair for a JWS algorithm, exported the ways a config or a JWKS would carry it. */
export async function testKey(
  alg: string,
  kid = `${alg.toLowerCase()}-${Math.random().toString(36).slice(2, 8)}`,
) {
  const { privateKey, publicKey } = await generateKeyPair(alg, { extractable: true });
  const jwk = { ...(await exportJWK(publicKey)), kid, alg, use: 'sig' };
  return { alg, kid, privateKey, publicKey, jwk, pem: await exportSPKI(publicKey) } satisfies TestKey;
}

export const ISSUER = 'https://auth.lucid.test/';
export const AUDIENCE = 'lucid-api';
export const SECRET = 'test-secret-that-is-long-enough-for-hs256-and-hs384!!';

export interface SignOptions {
  claims?: Record<string, unknown>;
  header?: Record<string, unknown>;
  /** Seconds from now; `null` leaves `exp` out. */
  expiresIn?: number | null;
  issuer?: string | null;
  audience?: string | null;
  iat?: number;
  nbf?: number;
}

/** Signs a token with sensible valid defaults; every field can be overridden or removed to test a refusal. */
export async function sign(
  key: CryptoKey | Uint8Array,
  alg: string,
  opts: SignOptions & { kid?: string } = {},
) {
  const now = Math.floor(Date.now() / 1000);
  const jwt = new SignJWT({ sub: 'user-1', tier: 'premium', scope: 'read write', ...opts.claims })
    .setProtectedHeader({ alg, typ: 'JWT', ...(opts.kid && { kid: opts.kid }), ...opts.header })
    .setIssuedAt(opts.iat ?? now);
  if (opts.issuer !== null) jwt.setIssuer(opts.issuer ?? ISSUER);
  if (opts.audience !== null) jwt.setAudience(opts.audience ?? AUDIENCE);
  if (opts.expiresIn !== null) jwt.setExpirationTime(now + (opts.expiresIn ?? 300));
  if (opts.nbf !== undefined) jwt.setNotBefore(opts.nbf);
  return jwt.sign(key);
}

export const secretBytes = (secret = SECRET) => new TextEncoder().encode(secret);

const b64url = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url');

/** A token with `alg: none` and no signature, as the classic attack sends it. */
export function unsignedToken(claims: Record<string, unknown> = {}) {
  const now = Math.floor(Date.now() / 1000);
  const payload = { sub: 'attacker', iss: ISSUER, aud: AUDIENCE, iat: now, exp: now + 300, ...claims };
  return `${b64url({ alg: 'none', typ: 'JWT' })}.${b64url(payload)}.`;
}

/** The key-confusion attack: HS256 with the RSA public key's PEM text used as the HMAC secret. */
export function hmacWithPublicKey(pem: string, claims: Record<string, unknown> = {}) {
  const now = Math.floor(Date.now() / 1000);
  const payload = { sub: 'attacker', iss: ISSUER, aud: AUDIENCE, iat: now, exp: now + 300, ...claims };
  const input = `${b64url({ alg: 'HS256', typ: 'JWT' })}.${b64url(payload)}`;
  return `${input}.${createHmac('sha256', pem).update(input).digest('base64url')}`;
}

/**
 * Signs a payload given as JSON text, byte for byte: for claims `JSON.stringify` cannot write
 * (`"exp": 1e309`, which parses to Infinity) or that `SignJWT` refuses to set.
 */
export function signRaw(key: CryptoKey | Uint8Array, alg: string, payload: string, kid?: string) {
  return new CompactSign(new TextEncoder().encode(payload))
    .setProtectedHeader({ alg, typ: 'JWT', ...(kid && { kid }) })
    .sign(key);
}
