import type { Problem } from './problems.js';

/** Nesting a request's JSON may have: deep enough for any real payload, shallow enough for the validator's stack. */
export const MAX_JSON_DEPTH = 64;

const OPEN_BRACE = 0x7b;
const OPEN_BRACKET = 0x5b;
const CLOSE_BRACE = 0x7d;
const CLOSE_BRACKET = 0x5d;
const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const ZERO = 0x30;
const NINE = 0x39;

/**
 * Parses a request body as JSON, or says why not. Before parsing, one pass over the bytes refuses
 * nesting deeper than `maxDepth` and notes integer literals too long to be exact as a double; only
 * then does the (slower) source-aware parse look for integers beyond 2^53, which a check on the
 * rounded value would let through. `__proto__` and `constructor` stay plain own keys (JSON.parse
 * defines properties; nothing here assigns them onto anything).
 */
export function parseJsonBody(
  body: Buffer,
  maxDepth = MAX_JSON_DEPTH,
): { ok: true; value: unknown } | { ok: false; problem: Problem } {
  let depth = 0;
  let inString = false;
  let digits = 0;
  let longNumber = false;
  for (let i = 0; i < body.length; i++) {
    const c = body[i]!;
    if (inString) {
      if (c === BACKSLASH) i++;
      else if (c === QUOTE) inString = false;
      continue;
    }
    if (c >= ZERO && c <= NINE) {
      if (++digits > 15) longNumber = true;
      continue;
    }
    digits = 0;
    if (c === QUOTE) inString = true;
    else if (c === OPEN_BRACE || c === OPEN_BRACKET) {
      if (++depth > maxDepth) {
        return { ok: false, problem: { location: '/body', message: `is nested deeper than ${maxDepth} levels` } };
      }
    } else if (c === CLOSE_BRACE || c === CLOSE_BRACKET) depth--;
  }
  const text = body.toString('utf8');
  try {
    if (!longNumber) return { ok: true, value: JSON.parse(text) };
    let inexact: string | undefined;
    const value = JSON.parse(text, (_key, v, context?: { source?: string }) => {
      if (inexact === undefined && typeof v === 'number' && context?.source !== undefined && !exact(v, context.source)) {
        inexact = context.source;
      }
      return v;
    });
    if (inexact !== undefined) {
      return {
        ok: false,
        problem: { location: '/body', message: `has the number ${inexact}, beyond what can be checked exactly (2^53)` },
      };
    }
    return { ok: true, value };
  } catch {
    return { ok: false, problem: { location: '/body', message: 'is not valid JSON' } };
  }
}

/** Whether an integer literal is within ±(2^53 - 1), where a double holds every integer exactly (fractions are let be). */
function exact(value: number, source: string): boolean {
  return !/^-?\d+$/.test(source) || Number.isSafeInteger(value);
}
