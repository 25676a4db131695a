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
  '%',
  '%z',
  '~',
  '|',
  '',
];

const segment = fc.oneof(
  { weight: 4, arbitrary: fc.constantFrom(...SEGMENTS) },
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
        if (reached.length === 0) {
          expect(normalizePath(path).path).toBe('/');
          return;
        }
        expect(reached).toHaveLength(1);
        const forwarded = reached[0]!;
        const { path: forwardedPath } = normalizePath(forwarded);
        expect(forwarded.split('?')[0]).toBe(forwardedPath);
        expect(forwardedPath).toMatch(/^\/(auth|public)(\/|$)/);
      }),
      { numRuns: 400 },
    );
    expect(stack.upstream.seen.filter((r) => /^\/(admin|api)(\/|$|\?)/.test(r.url))).toEqual([]);
  });
});
