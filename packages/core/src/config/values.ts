// The value notations of a config (durations, sizes, rates, CIDRs, URLs, paths, hosts), defined once.
import { isIP } from 'node:net';
import { z } from 'zod';
import { HOST_PATTERN_HINT, parseHostPattern } from '../http/host-pattern.js';
import { normalizePath } from '../http/normalize-path.js';
import { parseDuration, parseRate, parseSize } from './units.js';

// Node's timers hold at most 2^31-1 ms; a longer one fires after 1 ms instead.
const MAX_DURATION_MS = 2_147_483_647;

/** `30s`, `500ms`, `2m`, or a number of milliseconds (at most 24 days). */
export const duration = z.union([z.string(), z.number()]).transform((v, ctx) => {
  const ms = parseDuration(v);
  if (ms === undefined) {
    ctx.addIssue({
      code: 'custom',
      message: `"${v}" is not a duration (write it like "30s", "500ms" or "2m")`,
    });
    return z.NEVER;
  }
  if (ms > MAX_DURATION_MS) {
    ctx.addIssue({ code: 'custom', message: `"${v}" is too long: at most 24 days ("24d")` });
    return z.NEVER;
  }
  // Whole milliseconds, as Node's server timeouts require.
  return Math.round(ms);
});

/**
 * A duration that must be more than 0: an upstream timeout. There is no "off" (0 would mean no
 * limit to one engine and "fail at once" to another); write a long one instead.
 */
export const positiveDuration = duration.refine((ms) => ms > 0, {
  message: 'must be more than 0 (there is no "off"; write a long duration, like "10m", instead)',
});

/** `10mb`, `16kb`, or a number of bytes. */
export const size = z.union([z.string(), z.number()]).transform((v, ctx) => {
  const bytes = parseSize(v);
  if (bytes === undefined) {
    ctx.addIssue({
      code: 'custom',
      message: `"${v}" is not a size (write it like "10mb", "16kb" or "512b")`,
    });
    return z.NEVER;
  }
  if (!Number.isSafeInteger(bytes)) {
    ctx.addIssue({ code: 'custom', message: `"${v}" is too large` });
    return z.NEVER;
  }
  return bytes;
});

/** `100/min`, `10/s`, `5/10s`. */
export const rate = z.string().transform((v, ctx) => {
  const r = parseRate(v);
  if (r === undefined) {
    ctx.addIssue({
      code: 'custom',
      message: `"${v}" is not a rate (write it like "100/min", "10/s" or "1000/hour")`,
    });
    return z.NEVER;
  }
  return r;
});

export const cidr = z.string().refine(
  (v) => {
    const [addr, bits, extra] = v.split('/');
    if (extra !== undefined || !addr || !isIP(addr)) return false;
    if (bits === undefined) return true;
    // Digits only: Number('') is 0, and "10.0.0.1/" would trust every address.
    if (!/^\d{1,3}$/.test(bits)) return false;
    const n = Number(bits);
    return Number.isInteger(n) && n >= 0 && n <= (isIP(addr) === 4 ? 32 : 128);
  },
  { message: 'expected an IP address or a CIDR like "10.0.0.0/8"' },
);

export const HTTP_METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'] as const;
export const method = z
  .string()
  .transform((m) => m.toUpperCase())
  .pipe(z.enum(HTTP_METHODS, { message: `expected one of ${HTTP_METHODS.join(', ')}` }));

/** A target URL: `http://` or `https://` (with `services.X.http2`, HTTP/2 over it), or `h2c://host:port`. */
export const upstreamUrl = z.string().superRefine((v, ctx) => {
  let u: URL;
  try {
    u = new URL(v);
  } catch {
    ctx.addIssue({ code: 'custom', message: URL_HINT });
    return;
  }
  if (u.protocol === 'h2c:') {
    // A non-special scheme: the URL parser keeps whatever follows host:port as the path.
    if (
      u.hostname === '' ||
      u.username ||
      u.password ||
      u.hash ||
      u.search ||
      (u.pathname !== '' && u.pathname !== '/')
    ) {
      ctx.addIssue({
        code: 'custom',
        message: 'an h2c:// target is host and port only, like "h2c://lucid-blockchain-engine:50051"',
      });
    }
    return;
  }
  if ((u.protocol !== 'http:' && u.protocol !== 'https:') || u.hostname === '' || u.username || u.hash) {
    ctx.addIssue({ code: 'custom', message: URL_HINT });
  }
});
// Worded as before h2c:// targets existed (scripts match on it); a bad h2c:// URL gets its own message.
const URL_HINT = 'expected an http:// or https:// URL like "http://lucid-auth-service:8089"';

/** A path the router can match: plain, and left as it is by the request-path normalizer. */
export const pathPrefix = z
  .string()
  .startsWith('/', { message: 'a prefix starts with "/"' })
  .refine((p) => !/[?#%\\]|\/\/|\/\.\.?(\/|$)/.test(p), {
    message: 'a prefix is a plain path like "/auth"',
  })
  .refine(normalizes, { message: 'a prefix is a plain path like "/auth" (no ";", no control characters)' })
  .refine((p) => !/\/:(\/|$)/.test(p), { message: 'a ":" segment needs a name, like "/:id"' });

function normalizes(path: string): boolean {
  try {
    normalizePath(path);
    return true;
  } catch {
    return false;
  }
}

/** A host pattern (http/host-pattern.ts), lower-cased. */
export const hostPattern = z
  .string()
  .toLowerCase()
  .refine((h) => parseHostPattern(h) !== undefined, { message: HOST_PATTERN_HINT });

export const authPolicy = z.enum(['required', 'public'], { message: 'expected "required" or "public"' });

/** `"1kb/s"` (over the default 10 s window), `"10kb/10s"` (per window), or bytes per second. */
export const bodyRate = z.union([z.string(), z.number()]).transform((v, ctx) => {
  const [amount, per = 's']: [string | number, string?] =
    typeof v === 'number' ? [v] : (v.split('/') as [string, string?]);
  const bytes = parseSize(amount);
  const window = parseDuration(/^\d/.test(per) ? per : `1${per}`);
  if (bytes === undefined || window === undefined || window <= 0 || !per) {
    ctx.addIssue({
      code: 'custom',
      message: `"${v}" is not a rate of bytes (write it like "1kb/s" or "10kb/10s")`,
    });
    return z.NEVER;
  }
  const perSecond = (bytes * 1000) / window;
  return { rate: perSecond, window: per === 's' ? 10_000 : Math.round(window) };
});
