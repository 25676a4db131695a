import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { seenFor, statuses } from './support/expect.js';
import { head, type RawResponse, rawExchange } from './support/raw.js';
import { END, HOST, ORIGIN, type Stack, startStack } from './support/stack.js';

/**
 * CORS against origins that merely look like the allowed one (`https://app.lucid.dev`, with
 * credentials): none may be reflected in Access-Control-Allow-Origin, and preflights from them fail.
 */

const LOOKALIKES = [
  'https://app.lucid.dev.evil.example',
  'https://evilapp.lucid.dev',
  'https://evil-app.lucid.dev',
  'https://app.lucid.dev.',
  'http://app.lucid.dev',
  'https://app.lucid.dev:8443',
  'https://app.lucid.dev:443',
  'https://APP.LUCID.DEV',
  'https://app.lucid.dev/',
  'https://app.lucid.dev/path',
  'https://app.lucid.dev@evil.example',
  'https://evil.example/https://app.lucid.dev',
  'https://evil.example?https://app.lucid.dev',
  'https://evil.example#https://app.lucid.dev',
  'https://app.lucid.dev%60.evil.example',
  'https://app.lucid.dev_.evil.example',
  'https://app-lucid.dev',
  'https://applucid.dev',
  'wss://app.lucid.dev',
  'null',
  '*',
  '',
] as const;

function allowOrigin(res: RawResponse): string[] | undefined {
  return res.headers['access-control-allow-origin'];
}

let stack: Stack;
beforeAll(async () => {
  stack = await startStack();
});
afterAll(async () => {
  await stack?.close();
});

describe('CORS origins that merely contain the allowed one', () => {
  it.each(LOOKALIKES)('refuses the preflight from %j with 403, no allow headers', async (origin) => {
    const reply = await rawExchange(
      stack.port,
      head(
        'OPTIONS /public/cors-pre HTTP/1.1',
        `Host: ${HOST}`,
        `Origin: ${origin}`,
        'Access-Control-Request-Method: POST',
        'Access-Control-Request-Headers: authorization',
      ) + END,
    );
    const [answer] = reply.responses;
    expect(answer!.status).toBe(403);
    expect(allowOrigin(answer!)).toBeUndefined();
    expect(answer!.headers['access-control-allow-credentials']).toBeUndefined();
    expect(seenFor(stack, '/public/cors-pre')).toEqual([]);
  });

  it.each(LOOKALIKES)(
    'never reflects %j on an ordinary answer, and says the answer varies by Origin',
    async (origin) => {
      const reply = await rawExchange(
        stack.port,
        head('GET /public/cors-get HTTP/1.1', `Host: ${HOST}`, `Origin: ${origin}`) + END,
      );
      const [answer] = reply.responses;
      expect(answer!.status).toBe(200);
      expect(allowOrigin(answer!)).toBeUndefined();
      expect(answer!.headers['access-control-allow-credentials']).toBeUndefined();
      expect(answer!.headers.vary?.join(',')).toMatch(/origin/i);
    },
  );
});

describe('CORS for the allowed origin', () => {
  it('answers its preflight at the gateway with the exact origin and credentials', async () => {
    const reply = await rawExchange(
      stack.port,
      head(
        'OPTIONS /api/cors-ok HTTP/1.1',
        `Host: ${HOST}`,
        `Origin: ${ORIGIN}`,
        'Access-Control-Request-Method: POST',
      ) + END,
    );
    const [answer] = reply.responses;
    expect(answer!.status).toBe(204);
    expect(allowOrigin(answer!)).toEqual([ORIGIN]);
    expect(answer!.headers['access-control-allow-credentials']).toEqual(['true']);
    // The preflight needs no token and never reaches the protected upstream.
    expect(seenFor(stack, '/api/cors-ok')).toEqual([]);
  });

  it('reflects no origin when two Origin headers came, in either order', async () => {
    for (const pair of [
      ['https://evil.example', ORIGIN],
      [ORIGIN, 'https://evil.example'],
      [ORIGIN, ORIGIN],
    ]) {
      const reply = await rawExchange(
        stack.port,
        head('GET /public/cors-two HTTP/1.1', `Host: ${HOST}`, ...pair.map((o) => `Origin: ${o}`)) + END,
      );
      expect(statuses(reply)[0]).toBe(200);
      expect(allowOrigin(reply.responses[0]!), pair.join(' + ')).toBeUndefined();
    }
  });
});
