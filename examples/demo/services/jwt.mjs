// HS256 tokens with node:crypto alone, so the demo needs no dependency of its own.
import { createHmac } from 'node:crypto';

const b64url = (value) =>
  Buffer.from(typeof value === 'string' ? value : JSON.stringify(value)).toString('base64url');

/**
 * Signs `claims` as a compact JWS (HS256) with `secret`, adding `iat` and `exp`.
 *
 * @example signHs256({ sub: 'user-alice', iss: 'lucid-auth', aud: 'lucid-api' }, secret, 3600)
 */
export function signHs256(claims, secret, ttlSeconds) {
  const iat = Math.floor(Date.now() / 1000);
  const input = `${b64url({ alg: 'HS256', typ: 'JWT' })}.${b64url({ ...claims, iat, exp: iat + ttlSeconds })}`;
  const signature = createHmac('sha256', secret).update(input).digest('base64url');
  return `${input}.${signature}`;
}
