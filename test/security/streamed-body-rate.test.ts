import type { IncomingMessage, ServerResponse } from 'node:http';
import { type RunningGateway, send, startGateway, startUpstream, type Upstream } from '@lucid/test-kit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { statuses } from './support/expect.js';
import { head, RawConnection } from './support/raw.js';

/**
 * `server.limits.minBodyRate` for bodies that stream rather than being buffered: larger than
 * `bufferBody`, or on a `requestBuffering: false` route. A sender slower than the rate gets 408 and its
 * connection closed, and the upstream's request is abandoned; a body that waits on a slow upstream
 * (backpressure) is not the sender's fault and passes.
 */

const HOST = 'gw.test';
const LOG = { level: 'silent', pretty: false, accessLog: false };

/** Reads a body slowly: 4 KiB, then a pause until released, then the rest. */
async function startSlowReader(): Promise<Upstream & { release(): void; reading: Promise<void> }> {
  let release!: () => void;
  const released = new Promise<void>((resolve) => {
    release = resolve;
  });
  let started!: () => void;
  const reading = new Promise<void>((resolve) => {
    started = resolve;
  });
  const upstream = await startUpstream(
    (req: IncomingMessage, res: ServerResponse) => {
      let bytes = 0;
      req.pause();
      started();
      void released.then(() => {
        req.on('data', (c: Buffer) => {
          bytes += c.length;
        });
        req.on('end', () => res.end(JSON.stringify({ bytes })));
        req.resume();
      });
    },
    { streaming: true },
  );
  return Object.assign(upstream, { release, reading });
}

describe.each(['undici', 'http-proxy'] as const)(
  'a streamed body slower than minBodyRate (%s engine)',
  (engine) => {
    let echo: Upstream;
    let gw: RunningGateway;
    beforeAll(async () => {
      echo = await startUpstream();
      gw = await startGateway({
        server: {
          engine,
          limits: { body: '1mb', bufferBody: '16kb', minBodyRate: { rate: '1kb', window: '400ms' } },
        },
        logging: LOG,
        services: { echo: { targets: [echo.url], health: false, retry: { attempts: 0 } } },
        routes: [
          { prefix: '/echo', service: 'echo', auth: 'public' },
          { prefix: '/streamed', service: 'echo', auth: 'public', requestBuffering: false },
        ],
      });
    });
    afterAll(async () => {
      await gw?.close();
      await echo?.close();
    });

    /** Sends a head and a first piece, then `piece` every 50 ms (about 400 B/s), until the gateway closes. */
    async function trickle(path: string, headers: string[], first: string, piece: string) {
      const conn = await RawConnection.open(gw.port);
      await conn.write(head(`POST ${path} HTTP/1.1`, `Host: ${HOST}`, ...headers) + first);
      const timer = setInterval(() => {
        if (!conn.isClosed) conn.socket.write(piece);
      }, 50);
      try {
        return await conn.untilClosed();
      } finally {
        clearInterval(timer);
      }
    }

    it('a body larger than bufferBody, sent slowly: 408 and closed', async () => {
      const reply = await trickle('/echo/big', ['Content-Length: 100000'], 'x'.repeat(100), 'x'.repeat(20));
      expect(statuses(reply)).toEqual([408]);
      expect(reply.responses[0]!.headers.connection).toEqual(['close']);
      expect(echo.seen.filter((r) => r.url === '/big' && r.bodyBytes === 100_000)).toEqual([]);
    });

    it('a requestBuffering: false route, sent slowly (declared length): 408 and closed', async () => {
      const reply = await trickle(
        '/streamed/declared',
        ['Content-Length: 5000'],
        'x'.repeat(100),
        'x'.repeat(20),
      );
      expect(statuses(reply)).toEqual([408]);
      expect(echo.seen.filter((r) => r.url === '/declared' && r.bodyBytes === 5000)).toEqual([]);
    });

    it('a requestBuffering: false route, sent slowly (chunked): 408 and closed', async () => {
      const reply = await trickle(
        '/streamed/chunked',
        ['Transfer-Encoding: chunked'],
        `64\r\n${'x'.repeat(100)}\r\n`,
        `14\r\n${'x'.repeat(20)}\r\n`,
      );
      expect(statuses(reply)).toEqual([408]);
    });

    it('a streamed body sent at a good pace goes through whole', async () => {
      const body = 'y'.repeat(200_000);
      const res = await send(`${gw.url}/streamed/fast`, { method: 'POST', body, headers: { host: HOST } });
      expect(res.status).toBe(200);
      expect(res.json()).toMatchObject({ bodyBytes: 200_000 });
    });
  },
);

describe('a streamed body held back by a slow upstream is not the sender’s fault', () => {
  let slow: Awaited<ReturnType<typeof startSlowReader>>;
  let gw: RunningGateway;
  beforeAll(async () => {
    slow = await startSlowReader();
    gw = await startGateway({
      server: { limits: { body: '64mb', bufferBody: '16kb', minBodyRate: { rate: '1kb', window: '200ms' } } },
      logging: LOG,
      services: { slow: { targets: [slow.url], health: false, retry: { attempts: 0 } } },
      routes: [{ prefix: '/slow', service: 'slow', auth: 'public' }],
    });
  });
  afterAll(async () => {
    await gw?.close();
    await slow?.close();
  });

  it('a large body sent at once waits on the upstream, then arrives whole', async () => {
    const body = Buffer.alloc(48 * 1024 * 1024, 0x61);
    const pending = send(`${gw.url}/slow/upload`, { method: 'POST', body, headers: { host: HOST } });
    await slow.reading;
    // The upstream has the request and reads nothing: the body's buffers fill. Several rate windows
    // (200 ms each) pass while requests go through the same gateway.
    const since = performance.now();
    while (performance.now() - since < 1_000) {
      expect((await send(`${gw.url}/health`, { headers: { host: HOST } })).status).toBeLessThan(600);
    }
    slow.release();
    const res = await pending;
    expect(res.status).toBe(200);
    expect(res.json()).toEqual({ bytes: body.length });
  });
});
