import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { formatGrpcTimeout, parseGrpcTimeout } from './timeout.js';

describe('grpc-timeout', () => {
  it('reads every unit', () => {
    expect(parseGrpcTimeout('1H')).toBe(3_600_000);
    expect(parseGrpcTimeout('2M')).toBe(120_000);
    expect(parseGrpcTimeout('3S')).toBe(3_000);
    expect(parseGrpcTimeout('200m')).toBe(200);
    expect(parseGrpcTimeout('1500u')).toBe(1.5);
    expect(parseGrpcTimeout('2000000n')).toBe(2);
    expect(parseGrpcTimeout('99999999S')).toBe(99_999_999_000);
    expect(parseGrpcTimeout(undefined)).toBeUndefined();
  });

  it.each(['', '1', 'm', '123456789m', '-1m', '1.5S', '1s', '1 m', ' 1m', '1mm', '0x1m', '１m'])(
    'refuses %j',
    (value) => {
      expect(parseGrpcTimeout(value)).toBeNaN();
    },
  );

  it('formats at most 8 digits, never less time than remains', () => {
    fc.assert(
      fc.property(fc.double({ min: 0.000_001, max: 1e12, noNaN: true }), (ms) => {
        const text = formatGrpcTimeout(ms);
        expect(text).toMatch(/^\d{1,8}[HMSmun]$/);
        const back = parseGrpcTimeout(text)!;
        expect(back).toBeGreaterThanOrEqual(Math.min(ms, 99_999_999 * 60_000) - 1e-9);
      }),
    );
    expect(formatGrpcTimeout(200)).toBe('200000u');
    expect(formatGrpcTimeout(0)).toBe('1u');
  });
});
