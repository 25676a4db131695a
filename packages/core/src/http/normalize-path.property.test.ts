import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { isGatewayError } from '../errors.js';
import { type NormalizedPath, normalizePath } from './normalize-path.js';

// A fixed number of runs keeps CI time bounded; a fixed seed would hide new cases, so none is set.
const runs = { numRuns: 2000 };

/** The result, or undefined when the path was refused (and then only ever with GW_BAD_PATH). */
function tryNormalize(url: string): NormalizedPath | undefined {
  try {
    return normalizePath(url);
  } catch (err) {
    if (isGatewayError(err) && err.code === 'GW_BAD_PATH' && err.status === 400) return undefined;
    throw err;
  }
}

const segment = fc.oneof(
  fc.constantFrom(
    '.',
    '..',
    '%2e',
    '%2E',
    '%2e%2e',
    '.%2E',
    '%2E.',
    '...',
    '',
    'auth',
    'admin',
    'a.b',
    '%2f',
    '%2F',
    '%5c',
    '%00',
    '%25',
    '%252e',
    '%7e',
    '%41',
    '%c3%a9',
    '%F0%9F%98%80',
    '%c0%ae',
    '%c0%af',
    '%e0%80%ae',
    '%f0%80%80%af',
    '%ed%a0%80',
    '%f4%90%80%80',
    '%c3',
    '%a9',
    '%ff',
    'caf\u00e9',
    'caf\u00c3\u00a9',
    '\u20ac',
    '\u{1f600}',
    '|',
    ';v=1',
    '#',
    '%',
    '%z1',
  ),
  fc.string({ unit: 'grapheme', maxLength: 4 }),
  fc.string({ unit: 'binary-ascii', maxLength: 4 }),
);

/** Paths built from tricky segments, joined by one or more slashes, maybe with a query. */
const pathLike = fc
  .tuple(
    fc.array(fc.tuple(fc.constantFrom('/', '/', '/', '//', '///'), segment), { maxLength: 8 }),
    fc.boolean(),
    fc.option(fc.string({ maxLength: 6 }), { nil: undefined }),
  )
  .map(([parts, trailing, query]) => {
    const path =
      parts.map(([slash, seg]) => slash + seg).join('') + (trailing || parts.length === 0 ? '/' : '');
    return query === undefined ? path : `${path}?${query}`;
  });

const anyString = fc.oneof(
  fc.string({ unit: 'grapheme', maxLength: 30 }),
  fc.string({ unit: 'binary', maxLength: 30 }),
  fc.string({ maxLength: 30 }).map((s) => `/${s}`),
  fc.string({ unit: 'binary-ascii', maxLength: 30 }).map((s) => `/${s}`),
);

const UNRESERVED_ESCAPE = /%(?:[46][1-9A-F]|[57][0-9A]|3[0-9]|2D|2E|5F|7E)/i;
const CANONICAL_CHARS = /^(?:[A-Za-z0-9\-._~!$&'()*+,=:@/]|%[0-9A-F]{2})*$/;

function expectCanonical(path: string): void {
  expect(path.startsWith('/')).toBe(true);
  expect(path).not.toContain('//');
  expect(path).toMatch(CANONICAL_CHARS);
  expect(path).not.toMatch(UNRESERVED_ESCAPE);
  for (const seg of path.split('/')) {
    expect(seg === '.' || seg === '..').toBe(false);
  }
  // Its escapes spell valid UTF-8: decodeURIComponent throws on overlongs, surrogates and broken sequences.
  expect(() => decodeURIComponent(path)).not.toThrow();
}

const fatalUtf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });
const isUtf8 = (bytes: Uint8Array) => {
  try {
    fatalUtf8.decode(bytes);
    return true;
  } catch {
    return false;
  }
};
const escaped = (bytes: Uint8Array) => [...bytes].map((b) => `%${b.toString(16).padStart(2, '0')}`).join('');

// Bytes refused for their own reasons (encoded "/", "\\", NUL) are left out of the UTF-8 properties.
const pathByte = fc.integer({ min: 1, max: 0xff }).filter((b) => b !== 0x2f && b !== 0x5c);
/** Byte strings near UTF-8: mostly lead and continuation bytes, so valid and broken sequences both occur. */
const nearUtf8 = fc.array(
  fc.oneof(
    pathByte,
    fc.integer({ min: 0x80, max: 0xbf }),
    fc.integer({ min: 0xc0, max: 0xff }),
    fc.constantFrom(0xe0, 0xed, 0xf0, 0xf4, 0x9f, 0xa0, 0x8f, 0x90),
  ),
  { maxLength: 10 },
);
/** Valid UTF-8 byte strings, from any code point (surrogates excluded by the encoder). */
const utf8Text = fc
  .string({ unit: 'grapheme', maxLength: 6 })
  .map((t) => new TextEncoder().encode(t))
  .filter((b) => !b.includes(0x2f) && !b.includes(0x5c) && !b.includes(0));

describe('normalizePath properties', () => {
  it('refuses only with GW_BAD_PATH, whatever the input', () => {
    fc.assert(
      fc.property(fc.oneof(anyString, pathLike), (url) => {
        tryNormalize(url);
      }),
      runs,
    );
  });

  it('is idempotent and its output is canonical', () => {
    fc.assert(
      fc.property(fc.oneof(pathLike, anyString), (url) => {
        const out = tryNormalize(url);
        if (out === undefined) return;
        expectCanonical(out.path);
        expect(normalizePath(out.path)).toEqual({ path: out.path, search: '' });
        expect(normalizePath(out.path + out.search)).toEqual(out);
      }),
      runs,
    );
  });

  it('passes the query through untouched', () => {
    fc.assert(
      fc.property(pathLike, fc.string({ maxLength: 20 }), (path, query) => {
        const out = tryNormalize(`${path.split('?')[0]}?${query}`);
        if (out !== undefined) expect(out.search).toBe(`?${query}`);
      }),
      runs,
    );
  });

  it('cannot be escaped from a prefix by stripping it', () => {
    fc.assert(
      fc.property(fc.constantFrom('/auth', '/admin', '/a/b', '/'), pathLike, (prefix, tail) => {
        const out = tryNormalize(prefix === '/' ? tail : prefix + tail);
        if (out === undefined) return;
        const base = prefix === '/' ? '' : prefix;
        if (out.path !== base && !out.path.startsWith(`${base}/`)) return;
        const stripped = out.path.slice(base.length) || '/';
        expect(normalizePath(stripped).path).toBe(stripped);
        expectCanonical(stripped);
      }),
      runs,
    );
  });

  it('accepts a path of escaped bytes exactly when the bytes are valid UTF-8 (a fatal TextDecoder decides)', () => {
    fc.assert(
      fc.property(
        fc.oneof(
          nearUtf8,
          utf8Text.map((b) => [...b]),
        ),
        fc.boolean(),
        (list, raw) => {
          const bytes = Uint8Array.from(list);
          // The same bytes escaped, or raw as the latin1 chars Node would hand over (encodable ones only).
          const url = raw
            ? `/x${[...bytes].map((b) => (b > 0x7f ? String.fromCharCode(b) : `%${b.toString(16).padStart(2, '0')}`)).join('')}`
            : `/x${escaped(bytes)}`;
          const out = tryNormalize(url);
          expect(out !== undefined).toBe(isUtf8(bytes));
          if (out !== undefined)
            expect(new TextEncoder().encode(decodeURIComponent(out.path))).toEqual(
              Uint8Array.from([0x2f, 0x78, ...bytes]),
            );
        },
      ),
      runs,
    );
  });

  it('keeps any valid UTF-8 text, escaped once, the same text after decoding', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'grapheme', maxLength: 8 }), (text) => {
        fc.pre(!/[/\\\0]/.test(text) && text !== '.' && text !== '..' && text !== '');
        const out = normalizePath(`/${encodeURIComponent(text)}`);
        expect(decodeURIComponent(out.path)).toBe(`/${text}`);
      }),
      runs,
    );
  });

  it('treats an escaped unreserved character like the character itself', () => {
    const canonical = pathLike.map(tryNormalize).filter((o): o is NormalizedPath => o !== undefined);
    fc.assert(
      fc.property(canonical, fc.nat(), fc.boolean(), (out, pick, lower) => {
        // Unreserved characters outside the escapes the path already holds.
        const spots = [...out.path.matchAll(/%[0-9A-F]{2}|[A-Za-z0-9\-._~]/g)]
          .filter((m) => m[0].length === 1)
          .map((m) => m.index);
        if (spots.length === 0) return;
        const at = spots[pick % spots.length]!;
        const hex = out.path.charCodeAt(at).toString(16).toUpperCase();
        const escaped = `${out.path.slice(0, at)}%${lower ? hex.toLowerCase() : hex}${out.path.slice(at + 1)}`;
        expect(normalizePath(escaped).path).toBe(out.path);
      }),
      runs,
    );
  });
});
