import { createHmac } from 'node:crypto';

export const SECRET = 'security-suite-secret-with-more-than-32-bytes!';
export const ISSUER = 'lucid-auth';
export const AUDIENCE = 'lucid-api';

const b64url = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url');

/** An HS256 JWT signed with the suite's secret, valid for ten minutes unless claims say otherwise. */
export function hs256(claims: Record<string, unknown>): string {
  const now = Math.floor(Date.now() / 1000);
  const body = `${b64url({ alg: 'HS256', typ: 'JWT' })}.${b64url({
    iss: ISSUER,
    aud: AUDIENCE,
    iat: now,
    exp: now + 600,
    ...claims,
  })}`;
  return `${body}.${createHmac('sha256', SECRET).update(body).digest('base64url')}`;
}

/** The auth section the suite's gateways use. */
export const AUTH = { jwt: { secret: SECRET, issuer: ISSUER, audience: AUDIENCE } };
