import type { IncomingMessage, ServerResponse } from 'node:http';
import { type RunningGateway, send, startGateway, startUpstream, type Upstream } from '@lucid/test-kit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { statuses } from './support/expect.js';
import { head, RawConnection } from './support/raw.js';

/**
 * Request buffering (nginx's proxy_request_buffering): small bodies are read whole before an
 * upstream connection is taken; big ones, `requestBuffering: false` routes and bodies past the
 * gateway-wide budget stream; slow senders get 408; a service's connections are capped with a
 * bounded queue that answers 503 with Retry-After.
 */

const HOST = 'gw.test';
const LOG = { level: 'silent', pretty: false, accessLog: false };

/** An upstream that answers at once, before reading the body, saying how much had arrived. */
async function startEarlyAnswerer(): Promise<Upstream> {
  return startUpstream(
    (req: IncomingMessage, res: ServerResponse) => {
      res.writeHead(200, { 'content-type': 'text/plain', connection: 'close' });
      res.end(`arrived-early:${req.readableLength}`);
      req.resume();
    },
    { streaming: true },
  );
}

describe('request buffering', () => {
  let echo: Upstream;
  let early: Upstream;
  let gw: RunningGateway;
  beforeAll(async () => {
    echo = await startUpstream();
    early = await startEarlyAnswerer();
    gw = await startGateway({
      server: {
        limits: {
          body: '256kb',
          bufferBody: '16kb',
          bufferTotal: '40kb',
          minBodyRate: { rate: '1kb', window: '400ms' },
        },
      },
      logging: LOG,
      services: {
        echo: { targets: [echo.url], health: false },
        early: { targets: [early.url], health: false, retry: { attempts: 0 } },
        stream: { targets: [early.url], health: false, requestBuffering: false },
      },
      routes: [
        { prefix: '/echo', service: 'echo', auth: 'public' },
        { prefix: '/early', service: 'early', auth: 'public' },
        { prefix: '/early-streamed', service: 'early', auth: 'public', requestBuffering: false },
        { prefix: '/svc-streamed', service: 'stream', auth: 'public' },
      ],
    });
  });
  afterAll(async () => {
    await gw?.close();
    await echo?.close();
    await early?.close();
  });

  /** Sends a head and `first` bytes of a body, and returns the open connection. */
  async function partial(path: string, headers: string[], first: string): Promise<RawConnection> {
    const conn = await RawConnection.open(gw.port);
    await conn.write(head(`POST ${path} HTTP/1.1`, `Host: ${HOST}`, ...headers) + first);
    return conn;
  }

  it('holds a small body until it is complete, then sends it upstream whole', async () => {
    const conn = await partial('/echo/whole', ['Content-Length: 1000'], 'a'.repeat(500));
    try {
      // A request through the same gateway after ours: by its answer the gateway has seen our half body.
      expect((await send(`${gw.url}/echo/barrier`, { headers: { host: HOST } })).status).toBe(200);
      expect(echo.seen.filter((r) => r.url === '/whole')).toEqual([]);
      await conn.write('b'.repeat(500));
      const [res] = await conn.responses(1);
      expect(res?.status).toBe(200);
      const seen = echo.seen.filter((r) => r.url === '/whole');
      expect(seen.map((r) => r.bodyBytes)).toEqual([1000]);
    } finally {
      conn.destroy();
    }
  });

  it('buffers a chunked body and sends it upstream with a Content-Length', async () => {
    const conn = await partial('/echo/chunked', ['Transfer-Encoding: chunked'], '5\r\nhello\r\n');
    try {
      await conn.write('6\r\n world\r\n0\r\n\r\n');
      const [res] = await conn.responses(1);
      expect(res?.status).toBe(200);
      const seen = echo.seen.find((r) => r.url === '/chunked')!;
      expect(seen.bodyBytes).toBe(11);
      expect(seen.headers['content-length']).toBe('11');
      expect(seen.headers['transfer-encoding']).toBeUndefined();
    } finally {
      conn.destroy();
    }
  });

  it('streams a body larger than bufferBody (the upstream sees it before it ends)', async () => {
    const conn = await partial('/early/big', ['Content-Length: 100000'], 'x'.repeat(20_000));
    try {
      const [res] = await conn.responses(1);
      expect(res?.status).toBe(200);
      expect(res?.body.toString()).toMatch(/^arrived-early:/);
    } finally {
      conn.destroy();
    }
  });

  it('streams a chunked body that outgrows bufferBody, keeping what was read', async () => {
    const conn = await partial('/echo/chunked-big', ['Transfer-Encoding: chunked'], '');
    try {
      const piece = `${(4096).toString(16)}\r\n${'c'.repeat(4096)}\r\n`;
      await conn.write(piece.repeat(6));
      await conn.write('0\r\n\r\n');
      const [res] = await conn.responses(1);
      expect(res?.status).toBe(200);
      expect(echo.seen.find((r) => r.url === '/chunked-big')!.bodyBytes).toBe(6 * 4096);
    } finally {
      conn.destroy();
    }
  });

  it('streams always with requestBuffering: false, per route and per service', async () => {
    for (const path of ['/early-streamed/x', '/svc-streamed/x']) {
      const conn = await partial(path, ['Content-Length: 1000'], 'x'.repeat(10));
      try {
        const [res] = await conn.responses(1);
        expect(res?.status, path).toBe(200);
      } finally {
        conn.destroy();
      }
    }
  });

  it('streams a body the gateway-wide budget cannot hold instead of buffering it', async () => {
    // Two half-sent 15 KiB bodies hold 30 of the 40 KiB budget; a third does not fit and streams.
    const held = await Promise.all([
      partial('/echo/held-1', ['Content-Length: 15000'], 'h'),
      partial('/echo/held-2', ['Content-Length: 15000'], 'h'),
    ]);
    try {
      expect((await send(`${gw.url}/echo/barrier-2`, { headers: { host: HOST } })).status).toBe(200);
      const conn = await partial('/early/over-budget', ['Content-Length: 15000'], 'x');
      try {
        const [res] = await conn.responses(1);
        expect(res?.status).toBe(200);
      } finally {
        conn.destroy();
      }
    } finally {
      for (const c of held) c.destroy();
    }
  });

  it('answers 408 and closes when a body arrives slower than minBodyRate; nothing forwarded', async () => {
    const conn = await partial('/echo/slow', ['Content-Length: 5000'], 'x');
    const timer = setInterval(() => {
      if (!conn.isClosed) conn.socket.write('x');
    }, 50);
    try {
      const reply = await conn.untilClosed();
      expect(statuses(reply)).toEqual([408]);
      expect(reply.responses[0]!.headers.connection).toEqual(['close']);
    } finally {
      clearInterval(timer);
    }
    expect(echo.seen.filter((r) => r.url === '/slow')).toEqual([]);
  });

  it('invites an Expect: 100-continue body, then buffers and forwards it', async () => {
    const conn = await partial('/echo/continue', ['Content-Length: 4', 'Expect: 100-continue'], '');
    try {
      for (;;) {
        if (conn.raw.toString('latin1').startsWith('HTTP/1.1 100')) break;
        await new Promise<void>((resolve) => conn.socket.once('data', () => resolve()));
      }
      await conn.write('body');
      const [, res] = await conn.responses(2);
      expect(res?.status).toBe(200);
      expect(echo.seen.find((r) => r.url === '/continue')!.bodyBytes).toBe(4);
    } finally {
      conn.destroy();
    }
  });

  it('passes zero-length bodies and HEAD requests straight through', async () => {
    const zero = await send(`${gw.url}/echo/zero`, { method: 'POST', body: '', headers: { host: HOST } });
    expect(zero.status).toBe(200);
    expect(zero.json()).toMatchObject({ bodyBytes: 0 });
    const chunkedEmpty = await partial('/echo/zero-chunked', ['Transfer-Encoding: chunked'], '0\r\n\r\n');
    try {
      const [res] = await chunkedEmpty.responses(1);
      expect(res?.status).toBe(200);
    } finally {
      chunkedEmpty.destroy();
    }
    const h = await send(`${gw.url}/echo/head`, { method: 'HEAD', headers: { host: HOST } });
    expect(h.status).toBe(200);
    expect(h.body.length).toBe(0);
  });
});

describe('services.X.maxConnections with a bounded queue', () => {
  let hold: Upstream;
  const waiting: ServerResponse[] = [];
  let gw: RunningGateway;
  beforeAll(async () => {
    hold = await startUpstream((_req, res) => {
      waiting.push(res);
    });
    gw = await startGateway({
      logging: LOG,
      services: {
        held: { targets: [hold.url], health: false, maxConnections: 2, queue: { size: 1, timeout: '400ms' } },
      },
      routes: [{ prefix: '/held', service: 'held', auth: 'public' }],
    });
  });
  afterAll(async () => {
    for (const res of waiting) res.end();
    await gw?.close();
    await hold?.close();
  });

  it('answers 503 with Retry-After when the queue is full or the wait times out; never more than the cap upstream', async () => {
    const get = (i: number) => send(`${gw.url}/held/${i}`, { headers: { host: HOST } });
    const inFlight = [get(1), get(2)];
    // Both reached the upstream: its answers wait for us.
    while (hold.seen.length < 2)
      await new Promise<void>((resolve) => hold.server.once('request', () => resolve()));
    const queued = get(3);
    const full = await get(4); // the one queue place is taken
    expect(full.status).toBe(503);
    expect(full.headers['retry-after']).toBe('1');
    const timedOut = await queued;
    expect(timedOut.status).toBe(503);
    expect(timedOut.headers['retry-after']).toBe('1');
    expect(hold.seen.length).toBe(2);
    for (const res of waiting.splice(0)) res.end('done');
    expect((await Promise.all(inFlight)).map((r) => r.status)).toEqual([200, 200]);
    // Places are given back: a new request goes through.
    const next = get(5);
    while (hold.seen.length < 3)
      await new Promise<void>((resolve) => hold.server.once('request', () => resolve()));
    for (const res of waiting.splice(0)) res.end('done');
    expect((await next).status).toBe(200);
  });

  it('admits a queued request when a place frees up', async () => {
    const get = (i: number) => send(`${gw.url}/held/q${i}`, { headers: { host: HOST } });
    const start = hold.seen.length;
    const first = [get(1), get(2)];
    while (hold.seen.length < start + 2)
      await new Promise<void>((resolve) => hold.server.once('request', () => resolve()));
    const queued = get(3);
    waiting.shift()!.end('one');
    while (hold.seen.length < start + 3)
      await new Promise<void>((resolve) => hold.server.once('request', () => resolve()));
    for (const res of waiting.splice(0)) res.end('done');
    expect((await Promise.all([...first, queued])).map((r) => r.status)).toEqual([200, 200, 200]);
  });
});

describe('maxConnections is per target', () => {
  const TARGETS = 3;
  const ups: Upstream[] = [];
  const waiting: ServerResponse[] = [];
  const active = new Map<Upstream, { now: number; max: number }>();
  let gw: RunningGateway;
  beforeAll(async () => {
    for (let i = 0; i < TARGETS; i++) {
      const up: Upstream = await startUpstream((_req, res) => {
        const a = active.get(up)!;
        a.now++;
        a.max = Math.max(a.max, a.now);
        res.once('close', () => a.now--);
        waiting.push(res);
      });
      active.set(up, { now: 0, max: 0 });
      ups.push(up);
    }
    gw = await startGateway({
      logging: LOG,
      services: {
        many: {
          targets: ups.map((u) => u.url),
          health: false,
          maxConnections: 1,
          queue: { size: 10, timeout: '10s' },
        },
      },
      routes: [{ prefix: '/many', service: 'many', auth: 'public' }],
    });
  });
  afterAll(async () => {
    for (const res of waiting) res.end();
    await gw?.close();
    for (const up of ups) await up.close();
  });

  it('never sends a target more than its maxConnections, queueing the rest', async () => {
    const seen = () => ups.reduce((n, u) => n + u.seen.length, 0);
    const replies = Array.from({ length: 9 }, (_, i) =>
      send(`${gw.url}/many/${i}`, { headers: { host: HOST } }),
    );
    for (let answered = 0; answered < 9; ) {
      // Each target holds one request; answer them, and the queued ones move up.
      while (seen() < Math.min(9, answered + TARGETS))
        await new Promise<void>((resolve) => {
          for (const u of ups) u.server.once('request', () => resolve());
        });
      const batch = waiting.splice(0);
      answered += batch.length;
      for (const res of batch) res.end('ok');
    }
    expect((await Promise.all(replies)).map((r) => r.status)).toEqual(Array(9).fill(200));
    for (const up of ups) {
      expect(active.get(up)!.max).toBe(1);
      expect(up.seen.length).toBe(3);
    }
  });
});
