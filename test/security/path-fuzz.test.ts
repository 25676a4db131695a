import { normalizePath } from '@lucid/gateway-core';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { statuses } from './support/expect.js';
import { rawExchange } from './support/raw.js';
import { HOST, type Stack, startStack } from './support/stack.js';

/**
 * The path normalizer fuzzed through a running gateway: public `/auth` and `/public` next to
 * protected `/admin` and `/api`, no token sent. Whatever the raw path, nothing protected is
 * forwarded, and what is forwarded is already canonical (an upstream cannot read it another way)
 * and inside the prefix of the route that took it.
 */

const SEGMENTS = [
  '.',
  '..',
  '%2e',
  '%2E%2e',
  '.%2e',
  '%2f',
  '%2F',
  '%5c',
  '%00',
  '%25',
  '%252e%252e',
  '%61dmin',
  'admin',
  'ADMIN',
  'api',
  'auth',
  'public',
  ';',
  '..;',
  '\\',
  '#',
  '?',
  '%3f',
  '%3b',
  '%c0%ae',
  '%c0%af',
  '%C0%AE%C0%AE',
  '%e0%80%ae',
  '%f0%80%80%af',
  '%c1%9c',
  '%ed%a0%80',
  '%f4%90%80%80',
  '%ff',
  '%fe',
  '%80',
  '%c3',
  '%e2%82',
  '%c3%a9',
  '%F0%9F%98%80',
  '%',
  '%z',
  '~',
  '|',
  '',
];

/** Escaped bytes from the UTF-8 lead and continuation ranges: valid and broken sequences both. */
const utf8ish = fc
  .array(fc.oneof(fc.integer({ min: 0x80, max: 0xff }), fc.constantFrom(0x2e, 0x2f, 0x61)), {
    minLength: 1,
    maxLength: 4,
  })
  .map((bytes) => bytes.map((b) => `%${b.toString(16)}`).join(''));

const segment = fc.oneof(
  { weight: 4, arbitrary: fc.constantFrom(...SEGMENTS) },
  { weight: 1, arbitrary: utf8ish },
  { weight: 1, arbitrary: fc.string({ unit: 'binary-ascii', maxLength: 3 }) },
);

const rawPath = fc
  .tuple(
    fc.constantFrom('/auth', '/public', '/admin', '/api', '', '/'),
    fc.array(fc.tuple(fc.constantFrom('/', '/', '//'), segment), { maxLength: 6 }),
  )
  .map(([start, parts]) => {
    const path = start + parts.map(([slash, seg]) => slash + seg).join('');
    return path.startsWith('/') ? path : `/${path}`;
  });

let stack: Stack;
beforeAll(async () => {
  stack = await startStack();
});
afterAll(async () => {
  await stack?.close();
});

describe('path normalization fuzzed through the gateway', () => {
  it('forwards only canonical paths inside a public prefix, and nothing protected without a token', async () => {
    await fc.assert(
      fc.asyncProperty(rawPath, async (path) => {
        const before = stack.upstream.seen.length;
        const reply = await rawExchange(
          stack.port,
          `GET ${path} HTTP/1.1\r\nHost: ${HOST}\r\nConnection: close\r\n\r\n`,
        );
        const [status] = statuses(reply);
        const reached = stack.upstream.seen.slice(before).map((r) => r.url);
        if (status !== 200) {
          // No status: the parser refused the request line (a space or control byte in it) outright.
          if (status !== undefined) expect([400, 401, 404]).toContain(status);
          expect(reached).toEqual([]);
          return;
        }
        // The gateway's own root answers `/` (what `/auth/..` and the like come to).
        // The request target ends at the first space: what follows a space is read as the gap before
        // the HTTP version (`GET //  HTTP/1.1` asks for `//`).
        if (reached.length === 0) {
          expect(normalizePath(path.split(' ')[0]!).path).toBe('/');
          return;
        }
        expect(reached).toHaveLength(1);
        const forwarded = reached[0]!;
        const { path: forwardedPath } = normalizePath(forwarded);
        expect(forwarded.split('?')[0]).toBe(forwardedPath);
        // Only valid UTF-8 is ever forwarded (decodeURIComponent throws on overlongs and broken sequences).
        expect(() => decodeURIComponent(forwardedPath)).not.toThrow();
        expect(forwardedPath).toMatch(/^\/(auth|public)(\/|$)/);
      }),
      { numRuns: 400 },
    );
    expect(stack.upstream.seen.filter((r) => /^\/(admin|api)(\/|$|\?)/.test(r.url))).toEqual([]);
  });
});

/** Bytes that are not UTF-8 once decoded (RFC 3629 §10): each is refused before routing. */
const NOT_UTF8 = [
  '%c0%ae', // overlong "."
  '%c0%ae%c0%ae', // overlong ".."
  '%c0%af', // overlong "/"
  '%c1%9c', // overlong "\"
  '%e0%80%ae', // three-byte overlong "."
  '%e0%80%af',
  '%f0%80%80%af', // four-byte overlong "/"
  '%f8%80%80%80%af', // five-byte form, never UTF-8
  '%ed%a0%80', // a surrogate
  '%ed%bf%bf',
  '%f4%90%80%80', // above U+10FFFF
  '%f7%bf%bf%bf',
  '%ff',
  '%fe%ff',
  '%80', // a lone continuation byte
  '%bf%bf',
  '%c3', // truncated
  '%e2%82',
  '%f0%9f%98',
  '%c3%28', // a lead byte then ASCII
  '%e2%28%a1',
];

describe('paths that are not UTF-8 through the gateway', () => {
  it.each(
    NOT_UTF8.flatMap((bad) => [`/auth/${bad}`, `/auth/${bad}/../../admin`, `/auth/x${bad.toUpperCase()}y`]),
  )('%s is refused with 400 GW_BAD_PATH and reaches no upstream', async (path) => {
    const before = stack.upstream.seen.length;
    const reply = await rawExchange(
      stack.port,
      `GET ${path} HTTP/1.1\r\nHost: ${HOST}\r\nConnection: close\r\n\r\n`,
    );
    expect(statuses(reply)).toEqual([400]);
    expect(JSON.parse(reply.responses[0]!.body.toString())).toMatchObject({ code: 'GW_BAD_PATH' });
    expect(stack.upstream.seen.length).toBe(before);
  });

  it.each([
    ['/auth/caf%C3%A9', '/auth/caf%C3%A9'],
    ['/auth/caf%c3%a9', '/auth/caf%C3%A9'],
    ['/auth/%F0%9F%98%80/x', '/auth/%F0%9F%98%80/x'],
    ['/auth/%E2%82%AC%C2%A2%F4%8F%BF%BF', '/auth/%E2%82%AC%C2%A2%F4%8F%BF%BF'],
    ['/auth/%EF%BB%BF', '/auth/%EF%BB%BF'],
  ])('valid UTF-8 %s is forwarded as %s', async (path, forwarded) => {
    const before = stack.upstream.seen.length;
    const reply = await rawExchange(
      stack.port,
      `GET ${path}?q=%c0%ae HTTP/1.1\r\nHost: ${HOST}\r\nConnection: close\r\n\r\n`,
    );
    expect(statuses(reply)).toEqual([200]);
    expect(stack.upstream.seen.slice(before).map((r) => r.url)).toEqual([`${forwarded}?q=%c0%ae`]);
  });

  it('refuses raw bytes above 0x7f in the request line (the parser, before any routing)', async () => {
    for (const bytes of [[0xc0, 0xae], [0xc3, 0xa9], [0xff]]) {
      const before = stack.upstream.seen.length;
      const reply = await rawExchange(
        stack.port,
        Buffer.concat([
          Buffer.from('GET /auth/'),
          Buffer.from(bytes),
          Buffer.from(` HTTP/1.1\r\nHost: ${HOST}\r\nConnection: close\r\n\r\n`),
        ]),
      );
      expect(statuses(reply)).toEqual([400]);
      expect(stack.upstream.seen.length).toBe(before);
    }
  });
});
