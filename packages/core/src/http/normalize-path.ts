import { GatewayError } from '../errors.js';

/** The one path the gateway routes, authorizes and forwards, and the raw query beside it. */
export interface NormalizedPath {
  /** Canonical path: no `//`, no `.`/`..` segments, unreserved escapes decoded, other escapes upper-case. */
  path: string;
  /** The raw query including its leading `?`, or `''`; never touched. */
  search: string;
}

// Character classes of the path's ASCII characters.
const REJECT = 0; // controls, `\`, `;`, `#`: ambiguous between servers, so refused
const KEEP = 1; // pchar that needs nothing done (unreserved minus `.`, sub-delims minus `;`, `:`, `@`)
const DOT = 2;
const SLASH = 3;
const PERCENT = 4;
const ENCODE = 5; // not allowed raw in a path, with one obvious encoded form (space, `"`, `<`, `|`, ...)

const CLASS = new Uint8Array(128);
for (let c = 0x21; c < 0x7f; c++) CLASS[c] = KEEP;
for (const ch of ' "<>[]^`{|}') CLASS[ch.charCodeAt(0)] = ENCODE;
for (const ch of '\\;#') CLASS[ch.charCodeAt(0)] = REJECT;
CLASS[0x2e] = DOT;
CLASS[0x2f] = SLASH;
CLASS[0x25] = PERCENT;
CLASS[0x3f] = REJECT; // never reached (the path ends at the first `?`), kept out of the fast path anyway

const HEX = '0123456789ABCDEF';

/**
 * Turns `req.url` into one canonical path (what the gateway routes, authorizes and forwards)
 * plus the raw query. Anything ambiguous is refused with `GW_BAD_PATH` (400): a target that is
 * not origin-form, control characters, `\`, `;`, `#`, `%2F`, `%5C`, `%00`, broken escapes, and
 * a `..` that climbs above the root. Escapes of unreserved characters are decoded (so `%2e%2e`
 * is a `..` and is resolved), other escapes are kept with upper-case hex (`%25` is never decoded),
 * characters like `|` and bytes above 0x7f (a target is latin1 text) are percent-encoded,
 * repeated slashes are merged, and a trailing slash is kept. The bytes a path stands for (its
 * escapes decoded, raw bytes as they came) must be valid UTF-8 (RFC 3629): overlong forms such
 * as `%c0%ae`, surrogates, code points above U+10FFFF and broken sequences are refused, since a
 * lenient upstream may read `%c0%ae` as `.` or `%c0%af` as `/`.
 *
 * @example
 * normalizePath('/auth/%2e%2e/admin//x?y=..'); // { path: '/admin/x', search: '?y=..' }
 * normalizePath('/a/%2fb'); // throws GatewayError('GW_BAD_PATH')
 */
export function normalizePath(rawUrl: string): NormalizedPath {
  if (rawUrl.charCodeAt(0) !== 0x2f) {
    throw new GatewayError('GW_BAD_PATH', { detail: 'the request target must be a path starting with "/"' });
  }
  const q = rawUrl.indexOf('?');
  const end = q === -1 ? rawUrl.length : q;
  const search = q === -1 ? '' : rawUrl.slice(q);
  if (isCanonical(rawUrl, end)) return { path: q === -1 ? rawUrl : rawUrl.slice(0, q), search };
  return { path: canonicalize(rawUrl, end), search };
}

/** The hot path: most request paths are already canonical and are returned as they are. */
function isCanonical(url: string, end: number): boolean {
  let segStart = 1;
  for (let i = 1; i < end; i++) {
    const c = url.charCodeAt(i);
    if (c > 0x7f) return false;
    const k = CLASS[c];
    if (k === KEEP || k === DOT) continue;
    if (k !== SLASH || i === segStart || isDotSegment(url, segStart, i)) return false;
    segStart = i + 1;
  }
  return !isDotSegment(url, segStart, end);
}

function isDotSegment(s: string, start: number, end: number): boolean {
  const len = end - start;
  if (len === 1) return s.charCodeAt(start) === 0x2e;
  return len === 2 && s.charCodeAt(start) === 0x2e && s.charCodeAt(start + 1) === 0x2e;
}

function canonicalize(url: string, end: number): string {
  const segments: string[] = [];
  const utf8: Utf8State = { need: 0, lo: 0x80, hi: 0xbf };
  let trailingSlash = false;
  let seg = '';
  let run = 1; // start of the stretch of characters copied as they are
  for (let i = 1; i <= end; i++) {
    const c = i === end ? 0x2f : url.charCodeAt(i);
    const k = c > 0x7f ? ENCODE : CLASS[c];
    if (k === KEEP || k === DOT) {
      if (utf8.need !== 0) badUtf8();
      continue;
    }
    seg += url.slice(run, i);
    if (k === SLASH) {
      if (utf8.need !== 0) badUtf8();
      const last = i === end;
      if (seg === '..') {
        if (segments.pop() === undefined) bad('the path climbs above the root with ".."');
        trailingSlash = last;
      } else if (seg === '.' || seg === '') {
        // '' is a repeated (or the final) slash: merged.
        trailingSlash = last;
      } else {
        segments.push(seg);
        trailingSlash = false;
      }
      seg = '';
    } else if (k === PERCENT) {
      const byte = decodeEscape(url, i, end);
      utf8Byte(utf8, byte);
      seg += isUnreserved(byte) ? String.fromCharCode(byte) : `%${HEX[byte >> 4]}${HEX[byte & 15]}`;
      i += 2;
    } else if (k === ENCODE) {
      if (c > 0xff) bad('the path contains a character that is not a byte');
      utf8Byte(utf8, c);
      seg += `%${HEX[c >> 4]}${HEX[c & 15]}`;
    } else {
      bad(`the path contains ${describe(c)}`);
    }
    run = i + 1;
  }
  if (segments.length === 0) return '/';
  const path = `/${segments.join('/')}`;
  return trailingSlash ? `${path}/` : path;
}

/** The byte the escape at `i` stands for; refuses broken escapes and the bytes no path may hide. */
function decodeEscape(url: string, i: number, end: number): number {
  const hi = i + 2 < end ? hexValue(url.charCodeAt(i + 1)) : -1;
  const lo = hi === -1 ? -1 : hexValue(url.charCodeAt(i + 2));
  if (lo === -1) bad('the path contains an invalid percent-escape');
  const byte = (hi << 4) | lo;
  if (byte === 0x2f) bad('the path contains an encoded "/"');
  if (byte === 0x5c) bad('the path contains an encoded "\\"');
  if (byte === 0x00) bad('the path contains an encoded NUL');
  return byte;
}

/** Where a UTF-8 sequence stands: continuation bytes still `need`ed, the range the next one must be in. */
interface Utf8State {
  need: number;
  lo: number;
  hi: number;
}

/**
 * One byte of the decoded path through a UTF-8 check (RFC 3629 §4; the ranges of Unicode table
 * 3-7): leads C0, C1 and F5-FF never occur, and the narrowed second-byte ranges after E0, ED, F0
 * and F4 refuse overlong forms, surrogates and code points above U+10FFFF.
 */
function utf8Byte(s: Utf8State, b: number): void {
  if (s.need !== 0) {
    if (b < s.lo || b > s.hi) badUtf8();
    s.need--;
    s.lo = 0x80;
    s.hi = 0xbf;
    return;
  }
  if (b < 0x80) return;
  if (b >= 0xc2 && b <= 0xdf) s.need = 1;
  else if (b >= 0xe0 && b <= 0xef) {
    s.need = 2;
    if (b === 0xe0) s.lo = 0xa0;
    else if (b === 0xed) s.hi = 0x9f;
  } else if (b >= 0xf0 && b <= 0xf4) {
    s.need = 3;
    if (b === 0xf0) s.lo = 0x90;
    else if (b === 0xf4) s.hi = 0x8f;
  } else badUtf8();
}

function badUtf8(): never {
  bad('the path is not valid UTF-8 once decoded');
}

function hexValue(c: number): number {
  if (c >= 0x30 && c <= 0x39) return c - 0x30;
  const lower = c | 0x20;
  if (lower >= 0x61 && lower <= 0x66) return lower - 0x57;
  return -1;
}

function isUnreserved(c: number): boolean {
  const lower = c | 0x20;
  return (
    (lower >= 0x61 && lower <= 0x7a) ||
    (c >= 0x30 && c <= 0x39) ||
    c === 0x2d ||
    c === 0x2e ||
    c === 0x5f ||
    c === 0x7e
  );
}

function describe(c: number): string {
  if (c === 0x5c) return 'a backslash';
  if (c === 0x3b) return 'a ";" (matrix parameters are read differently by different servers)';
  if (c === 0x23) return 'a "#"';
  return 'a control character';
}

function bad(detail: string): never {
  throw new GatewayError('GW_BAD_PATH', { detail });
}
