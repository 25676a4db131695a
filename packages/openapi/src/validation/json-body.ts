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
const LOWER_E = 0x65;
const UPPER_E = 0x45;
const DOT = 0x2e;

/**
 * Parses a request body as JSON, or says why not. Before parsing, one pass over the bytes refuses
 * nesting deeper than `maxDepth` and notes integer literals too long to be exact as a double; only
 * then does the (slower) source-aware parse look for integers beyond 2^53, which a check on the
 * rounded value would let through. A `__proto__` key is refused wherever it is: JSON Schema
 * validators skip it (ajv does), and an upstream that merges the body into an object would have its
 * prototype changed by it. (`constructor` and the like stay plain own keys, checked as any other.)
 */
export function parseJsonBody(
  body: Buffer,
  maxDepth = MAX_JSON_DEPTH,
): { ok: true; value: unknown } | { ok: false; problem: Problem } {
  let depth = 0;
  let inString = false;
  let digits = 0;
  let number = false;
  let fraction = false;
  let longNumber = false;
  for (let i = 0; i < body.length; i++) {
    const c = body[i]!;
    if (inString) {
      if (c === BACKSLASH) i++;
      else if (c === QUOTE) inString = false;
      continue;
    }
    if (c >= ZERO && c <= NINE) {
      // Only the integer part counts: a long fraction (0.1 + 0.2 printed) is no integer to lose.
      if (!fraction && ++digits > 15) longNumber = true;
      number = true;
      continue;
    }
    if (c === DOT && number) {
      fraction = true;
      continue;
    }
    // An exponent (right after a digit: not the e of `true`) can write a large number in few digits: 1e400.
    if ((c === LOWER_E || c === UPPER_E) && number) longNumber = true;
    digits = 0;
    number = false;
    fraction = false;
    if (c === QUOTE) inString = true;
    else if (c === OPEN_BRACE || c === OPEN_BRACKET) {
      if (++depth > maxDepth) {
        return {
          ok: false,
          problem: { location: '/body', message: `is nested deeper than ${maxDepth} levels` },
        };
      }
    } else if (c === CLOSE_BRACE || c === CLOSE_BRACKET) depth--;
  }
  const text = body.toString('utf8');
  const parsed = parseText(text, longNumber);
  if (parsed.ok && text.includes('"__proto__"')) {
    const at = protoKey(parsed.value, '/body', 0);
    if (at !== undefined)
      return { ok: false, problem: { location: at, message: 'is a key no request may use' } };
  }
  return parsed;
}

function parseText(
  text: string,
  longNumber: boolean,
): { ok: true; value: unknown } | { ok: false; problem: Problem } {
  try {
    if (!longNumber) return { ok: true, value: JSON.parse(text) };
    let inexact: string | undefined;
    const value = JSON.parse(text, (_key, v, context?: { source?: string }) => {
      if (inexact === undefined && typeof v === 'number' && !exact(v)) inexact = context?.source ?? String(v);
      return v;
    });
    if (inexact !== undefined) {
      return {
        ok: false,
        problem: {
          location: '/body',
          message: `has the number ${inexact}, beyond what can be checked exactly (2^53)`,
        },
      };
    }
    return { ok: true, value };
  } catch {
    return { ok: false, problem: { location: '/body', message: 'is not valid JSON' } };
  }
}

/** Where the first own `__proto__` key is (as a JSON pointer), if any. */
function protoKey(value: unknown, at: string, depth: number): string | undefined {
  if (typeof value !== 'object' || value === null || depth > MAX_JSON_DEPTH) return undefined;
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      const found = protoKey(value[i], `${at}/${i}`, depth + 1);
      if (found !== undefined) return found;
    }
    return undefined;
  }
  if (Object.hasOwn(value, '__proto__')) return `${at}/__proto__`;
  for (const key of Object.keys(value)) {
    const found = protoKey(
      (value as Record<string, unknown>)[key],
      `${at}/${key.replace(/~/g, '~0').replace(/\//g, '~1')}`,
      depth + 1,
    );
    if (found !== undefined) return found;
  }
  return undefined;
}

/**
 * Whether a parsed number is one a check can trust: not an integer beyond ±(2^53 - 1), where a double
 * no longer holds every integer (nor Infinity, what 1e400 becomes). Long fractions are let be.
 */
function exact(value: number): boolean {
  return Number.isFinite(value) && (!Number.isInteger(value) || Number.isSafeInteger(value));
}
