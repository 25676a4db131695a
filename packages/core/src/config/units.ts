/** Parsers for the human units used in config: durations (`30s`), sizes (`10mb`), rates (`100/min`). */

const DURATION_UNITS: Record<string, number> = {
  ms: 1,
  s: 1_000,
  m: 60_000,
  min: 60_000,
  h: 3_600_000,
  d: 86_400_000,
};
const SIZE_UNITS: Record<string, number> = { b: 1, kb: 1024, mb: 1024 ** 2, gb: 1024 ** 3 };
const RATE_WINDOWS: Record<string, number> = {
  s: 1_000,
  sec: 1_000,
  second: 1_000,
  m: 60_000,
  min: 60_000,
  minute: 60_000,
  h: 3_600_000,
  hour: 3_600_000,
  d: 86_400_000,
  day: 86_400_000,
};

/** `"30s"` → 30000; a bare number is taken as milliseconds. Returns undefined when unparseable. */
export function parseDuration(input: string | number): number | undefined {
  if (typeof input === 'number') return Number.isFinite(input) && input >= 0 ? input : undefined;
  const m = /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|min|h|d)?\s*$/i.exec(input);
  if (!m) return undefined;
  return Math.round(Number(m[1]) * DURATION_UNITS[(m[2] ?? 'ms').toLowerCase()]!);
}

/** `"10mb"` → 10485760 (binary units); a bare number is taken as bytes. */
export function parseSize(input: string | number): number | undefined {
  if (typeof input === 'number') return Number.isInteger(input) && input >= 0 ? input : undefined;
  const m = /^\s*(\d+(?:\.\d+)?)\s*(b|kb|mb|gb)?\s*$/i.exec(input);
  if (!m) return undefined;
  return Math.floor(Number(m[1]) * SIZE_UNITS[(m[2] ?? 'b').toLowerCase()]!);
}

export interface Rate {
  limit: number;
  windowMs: number;
}

/** `"100/min"` → { limit: 100, windowMs: 60000 }; `"5/10s"` → { limit: 5, windowMs: 10000 }. */
export function parseRate(input: string): Rate | undefined {
  const m = /^\s*(\d+)\s*\/\s*(\d+)?\s*([a-z]+)\s*$/i.exec(input);
  if (!m) return undefined;
  const unit = RATE_WINDOWS[m[3]!.toLowerCase()];
  const limit = Number(m[1]);
  if (unit === undefined || limit < 1) return undefined;
  return { limit, windowMs: unit * (m[2] ? Number(m[2]) : 1) };
}
