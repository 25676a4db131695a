import type { JWTPayload } from 'jose';
import { AuthFailure } from './failure.js';

/**
 * The largest NumericDate taken as a time: ±8.64e12 s (year 275760), the range a Date can hold.
 * Beyond it a value cannot name an instant (and ms arithmetic on it loses precision).
 */
export const MAX_NUMERIC_DATE = 8.64e12;

const NUMERIC_DATES = ['exp', 'nbf', 'iat'] as const;

/**
 * What jose leaves unchecked in a verified token: a NumericDate (RFC 7519 §2) must be a finite
 * number, yet jose accepts `"exp": 1e309` (Infinity, which never expires); `iat` in the future is
 * refused only with `maxTokenAge`; `sub` must be a string (§4.1.2), because it keys rate limits and
 * becomes an identity header. `nowSec` and `toleranceSec` are jose's clock and tolerance.
 */
export function checkRegisteredClaims(claims: JWTPayload, nowSec: number, toleranceSec: number): void {
  for (const name of NUMERIC_DATES) {
    const value = claims[name];
    if (value === undefined) continue;
    if (typeof value !== 'number' || !Number.isFinite(value) || Math.abs(value) > MAX_NUMERIC_DATE) {
      throw new AuthFailure('invalid_claims', `token "${name}" claim is not a finite NumericDate`);
    }
  }
  if (claims.iat !== undefined && claims.iat > nowSec + toleranceSec) {
    throw new AuthFailure('invalid_claims', 'token issued in the future');
  }
  if (claims.sub !== undefined && typeof claims.sub !== 'string') {
    throw new AuthFailure('invalid_claims', 'token "sub" claim is not a string');
  }
}
