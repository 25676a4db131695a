/**
 * Estimates a quantile from histogram counts: finds the bucket holding the q-th observation and
 * interpolates linearly inside it. `counts[i]` counts values up to `bounds[i]` (and above
 * `bounds[i - 1]`); a last extra count holds values above every bound, reported as the top bound.
 * Undefined when nothing was counted.
 *
 * @example quantile([3, 1, 0], [10, 100], 0.5) // 6.67: the 2nd of 4 values, inside 0..10
 */
export function quantile(
  counts: ArrayLike<number>,
  bounds: readonly number[],
  q: number,
): number | undefined {
  let total = 0;
  for (let i = 0; i < counts.length; i++) total += counts[i]!;
  if (total === 0) return undefined;
  const rank = q * total;
  let seen = 0;
  for (let i = 0; i < counts.length; i++) {
    const c = counts[i]!;
    if (c > 0 && seen + c >= rank) {
      if (i >= bounds.length) return bounds[bounds.length - 1];
      const lower = i === 0 ? 0 : bounds[i - 1]!;
      return lower + (bounds[i]! - lower) * ((rank - seen) / c);
    }
    seen += c;
  }
  return bounds[bounds.length - 1];
}
