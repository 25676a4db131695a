/**
 * Retry delay after `attempt` consecutive failures: exponential from `min`, capped at `max`,
 * with "equal jitter" (half fixed, half random) so many gateways do not retry in step and
 * no retry comes sooner than min/2.
 *
 * @example backoffDelay(3, { min: 500, max: 30_000 }) // between 1000 and 2000
 */
export function backoffDelay(
  attempt: number,
  range: { min: number; max: number },
  random = Math.random,
): number {
  const cap = Math.min(range.max, range.min * 2 ** Math.max(0, attempt - 1));
  return Math.round(cap / 2 + random() * (cap / 2));
}
