import { describe, expect, it } from 'vitest';
import { AuthFailure } from './failure.js';
import { checkRegisteredClaims, MAX_NUMERIC_DATE } from './registered-claims.js';

const NOW = 1_800_000_000;
const refusal = (claims: Record<string, unknown>) => {
  try {
    checkRegisteredClaims(claims, NOW, 30);
  } catch (err) {
    expect(err).toBeInstanceOf(AuthFailure);
    return (err as AuthFailure).reason;
  }
  return undefined;
};

describe('checkRegisteredClaims', () => {
  it('accepts finite NumericDates up to the range of a date, fractions and negatives included', () => {
    for (const v of [0, -1, 1.5, NOW, MAX_NUMERIC_DATE, -MAX_NUMERIC_DATE]) {
      expect(refusal({ exp: v, nbf: v })).toBeUndefined();
    }
    expect(refusal({ iat: NOW + 30 })).toBeUndefined();
    expect(refusal({})).toBeUndefined();
  });

  it('refuses non-finite, out-of-range and non-number dates as invalid_claims', () => {
    const bad = [Infinity, -Infinity, NaN, MAX_NUMERIC_DATE * 1.0001, 1e300, '1', null, true, [1], { a: 1 }];
    for (const claim of ['exp', 'nbf', 'iat']) {
      for (const v of bad) expect(refusal({ [claim]: v }), `${claim}: ${String(v)}`).toBe('invalid_claims');
    }
  });

  it('refuses an iat beyond the clock tolerance, and a sub that is not a string', () => {
    expect(refusal({ iat: NOW + 31 })).toBe('invalid_claims');
    for (const sub of [['a'], { id: 'a' }, 1, null]) expect(refusal({ sub })).toBe('invalid_claims');
    expect(refusal({ sub: '' })).toBeUndefined();
  });
});
