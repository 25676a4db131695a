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
    'caf\u00e9',
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
}

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
