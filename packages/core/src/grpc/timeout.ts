/** Milliseconds per unit of `grpc-timeout` (PROTOCOL-HTTP2.md: Hours, Minutes, Seconds, milli, micro, nano). */
const UNIT_MS: Readonly<Record<string, number>> = {
  H: 3_600_000,
  M: 60_000,
  S: 1_000,
  m: 1,
  u: 0.001,
  n: 0.000_001,
};

const TIMEOUT = /^(\d{1,8})([HMSmun])$/;

/**
 * Parses `grpc-timeout` (`TimeoutValue TimeoutUnit`, at most 8 digits) into milliseconds.
 * Returns undefined when absent, NaN when malformed (the caller refuses the call).
 *
 * @example parseGrpcTimeout('200m') // 200
 */
export function parseGrpcTimeout(value: string | string[] | undefined): number | undefined {
  if (value === undefined) return undefined;
  const match = TIMEOUT.exec(Array.isArray(value) ? value.join(',') : value);
  if (match === null) return Number.NaN;
  return Number(match[1]) * UNIT_MS[match[2]!]!;
}

/**
 * Formats milliseconds as `grpc-timeout`, in the finest unit that fits in 8 digits, rounding up
 * so the upstream never gets less time than remains (at least 1 unit).
 */
export function formatGrpcTimeout(ms: number): string {
  const us = Math.max(1, Math.ceil(ms * 1000));
  if (us < 1e8) return `${us}u`;
  const milli = Math.ceil(ms);
  if (milli < 1e8) return `${milli}m`;
  const s = Math.ceil(ms / 1000);
  if (s < 1e8) return `${s}S`;
  return `${Math.min(99_999_999, Math.ceil(ms / 60_000))}M`;
}
