import { GatewayError } from '@lucid/gateway-core';
import type { AuthFailure } from '../jwt/failure.js';

const quote = (s: string) => `"${s.replace(/["\\]/g, '\\$&')}"`;
// RFC 6750 §3: error_description allows no `"` or `\`, so those become `'`.
const describe = (s: string) => `"${s.replace(/[^\x20-\x7e]/g, '').replace(/["\\]/g, "'")}"`;

/**
 * The client's answer for a refused credential (RFC 6750 §3): no error code when none was sent,
 * `invalid_token` for a bad one, 503 when the signing keys cannot be fetched (the token may be fine).
 */
export function unauthorized(failure: AuthFailure, realm: string): GatewayError {
  if (failure.reason === 'keys_unavailable') {
    return new GatewayError('GW_AUTH_UNAVAILABLE', { detail: failure.detail, cause: failure });
  }
  const challenge =
    failure.reason === 'missing'
      ? `Bearer realm=${quote(realm)}`
      : `Bearer realm=${quote(realm)}, error="invalid_token", error_description=${describe(failure.detail)}`;
  return new GatewayError('GW_UNAUTHORIZED', {
    detail: failure.detail,
    headers: { 'www-authenticate': challenge },
    cause: failure,
  });
}

/** 403 for a valid credential without the route's claims (`scope` lists what the route needs). */
export function forbidden(failure: AuthFailure, realm: string, scopes: readonly string[]): GatewayError {
  return new GatewayError('GW_FORBIDDEN', {
    detail: failure.detail,
    headers: { 'www-authenticate': insufficientScope(failure.detail, realm, scopes) },
    cause: failure,
  });
}

/** The bare challenge core's 401 carries (RFC 6750 §3: no error code when no credential was sent). */
export const bearerChallenge = (realm: string) => `Bearer realm=${quote(realm)}`;

/** The challenge of a 403: `insufficient_scope`, with the scopes the route needs. */
export function insufficientScope(detail: string, realm: string, scopes: readonly string[]): string {
  const scope = scopes.length > 0 ? `, scope=${quote(scopes.join(' '))}` : '';
  return `Bearer realm=${quote(realm)}, error="insufficient_scope", error_description=${describe(detail)}${scope}`;
}
