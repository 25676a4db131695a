import { once } from 'node:events';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { request } from 'node:http';
import { createServer, type Server, type Socket } from 'node:net';
import {
  freePort,
  type RunningGateway,
  send,
  startGateway,
  startUpstream,
  type Upstream,
} from '@lucid/test-kit';
import { afterEach, describe, expect, it } from 'vitest';
import { head, RawConnection, rawExchange } from '../security/support/raw.js';

/**
 * Upstreams that refuse, stall, reset or close idle sockets, and clients that walk away: each
 * fault gets its own status (or an honest cut connection), the gateway frees what the request
 * held, and it keeps serving.
 */

const cleanups: Array<() => unknown> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

type Engine = 'undici' | 'http-proxy';
type Handler = (req: IncomingMessage, res: ServerResponse) => void;

/** Resolves on 'close' (events.once would reject on the 'error' a reset brings first). */
function closeOf(emitter: { once(event: 'close', listener: () => void): unknown }): Promise<void> {
  return new Promise((resolve) => emitter.once('close', () => resolve()));
}

async function upstream(handler: Handler, opts: Parameters<typeof startUpstream>[1] = {}): Promise<Upstream> {
  const u = await startUpstream((req, res) => handler(req, res), { streaming: true, ...opts });
  cleanups.push(() => u.close());
  return u;
}

const ok =
  (name = 'ok'): Handler =>
  (req, res) => {
    req.resume();
    req.on('end', () => {
      res.writeHead(200, { 'content-type': 'text/plain', 'content-length': name.length });
      res.end(name);
    });
  };

/** A TCP server that answers every connection with `onConnection` (for answers no HTTP server gives). */
async function rawUpstream(onConnection: (socket: Socket) => void): Promise<{ url: string }> {
  const sockets = new Set<Socket>();
  const server: Server = createServer((s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
    s.on('error', () => {});
    onConnection(s);
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  cleanups.push(async () => {
    for (const s of sockets) s.destroy();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });
  return { url: `http://127.0.0.1:${(server.address() as { port: number }).port}` };
}

async function gatewayTo(
  engine: Engine,
  target: string,
  service: Record<string, unknown> = {},
): Promise<RunningGateway> {
  const healthy = await upstream(ok('alive'));
  const gw = await startGateway({
    server: { engine },
    logging: { level: 'warn', pretty: false, accessLog: false },
    services: {
      faulty: { targets: [target], health: false, retry: { attempts: 0 }, ...service },
      healthy: { targets: [healthy.url], health: false },
    },
    routes: [
      { prefix: '/faulty', service: 'faulty', auth: 'public' },
      { prefix: '/healthy', service: 'healthy', auth: 'public' },
    ],
  });
  cleanups.push(() => gw.close());
  return gw;
}

async function inFlight(gw: RunningGateway): Promise<number> {
  const metric = gw.gateway.registry.getSingleMetric('lucid_gateway_http_requests_in_flight');
  return (await metric!.get()).values.reduce((n, v) => n + v.value, 0);
}

/** The gateway still answers, and holds no request of the fault's. */
async function expectUnharmed(gw: RunningGateway): Promise<void> {
  const res = await send(`${gw.url}/healthy/x`);
  expect(res.status).toBe(200);
  expect(res.text).toBe('alive');
  expect(await inFlight(gw)).toBe(0);
}

describe.each<Engine>(['undici', 'http-proxy'])('upstream faults (%s engine)', (engine) => {
  it('answers 503 for an upstream that refuses connections, naming no address', async () => {
    const port = await freePort();
    const gw = await gatewayTo(engine, `http://127.0.0.1:${port}`);
    const res = await send(`${gw.url}/faulty/x`);
    expect(res.status).toBe(503);
    expect(res.headers['content-type']).toBe('application/problem+json');
    expect(res.text).not.toContain(String(port));
    expect(res.text).not.toMatch(/127\.0\.0\.1|ECONNREFUSED|at .*\.js/);
    await expectUnharmed(gw);
  });

  it('answers 504 for an upstream that never answers, and gives up its request', async () => {
    let closed!: Promise<unknown>;
    let arrived!: () => void;
    const arrival = new Promise<void>((r) => {
      arrived = r;
    });
    const u = await upstream((req) => {
      closed = closeOf(req.socket);
      arrived();
    });
    const gw = await gatewayTo(engine, u.url, { timeout: '300ms' });
    const res = await send(`${gw.url}/faulty/x`);
    expect(res.status).toBe(504);
    await arrival;
    // The gateway closed its upstream connection rather than leave it waiting.
    await closed;
    await expectUnharmed(gw);
  });

  it('cuts the client connection when the upstream resets mid-body, never a body that looks whole', async () => {
    const u = await upstream((req, res) => {
      req.resume();
      res.writeHead(200, { 'content-type': 'text/plain', 'content-length': 100_000 });
      res.write('x'.repeat(1000), () => res.socket?.destroy());
    });
    const gw = await gatewayTo(engine, u.url);
    const reply = await rawExchange(
      gw.port,
      head('GET /faulty/x HTTP/1.1', 'Host: api', 'Connection: close'),
    );
    const text = reply.raw.toString('latin1');
    expect(text).toMatch(/^HTTP\/1\.1 200/);
    // Fewer bytes than announced, and the connection closed: the client can tell.
    expect(reply.responses).toEqual([]);
    await expectUnharmed(gw);
  });

  it('cuts a chunked answer reset mid-body without the closing chunk', async () => {
    const u = await upstream((req, res) => {
      req.resume();
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.write('x'.repeat(1000), () => res.socket?.destroy());
    });
    const gw = await gatewayTo(engine, u.url);
    const reply = await rawExchange(
      gw.port,
      head('GET /faulty/x HTTP/1.1', 'Host: api', 'Connection: close'),
    );
    expect(reply.raw.toString('latin1')).not.toMatch(/\r\n0\r\n\r\n$/);
    expect(reply.responses).toEqual([]);
    await expectUnharmed(gw);
  });

  it('answers 502 (or cuts) when the upstream resets while the body is still coming', async () => {
    const u = await upstream((req) => {
      req.once('data', () => req.socket.destroy());
    });
    const gw = await gatewayTo(engine, u.url);
    const conn = await RawConnection.open(gw.port);
    cleanups.push(() => conn.destroy());
    await conn.write(
      head('POST /faulty/x HTTP/1.1', 'Host: api', 'Content-Length: 1000000', 'Connection: close'),
    );
    await conn.write(Buffer.alloc(64 * 1024, 1));
    const [answer] = await conn.responses(1);
    if (answer !== undefined) expect(answer.status).toBe(502);
    conn.destroy();
    await conn.closed;
    await expectUnharmed(gw);
  });

  it.each([
    ['a non-HTTP answer', 'HELLO THERE\r\n\r\n'],
    ['a status line with no headers end', 'HTTP/1.1 200 OK\r\nContent-Length: 5\r\n'],
    [
      'conflicting Content-Length headers',
      'HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nhello!',
    ],
    [
      'response splitting in a header',
      'HTTP/1.1 200 OK\r\nX-A: a\rSet-Cookie: evil=1\r\nContent-Length: 0\r\n\r\n',
    ],
    ['oversized headers', `HTTP/1.1 200 OK\r\nX-Big: ${'a'.repeat(100_000)}\r\n\r\n`],
    [
      'both Content-Length and Transfer-Encoding',
      'HTTP/1.1 200 OK\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\nHELLO',
    ],
    [
      'an obfuscated Transfer-Encoding',
      'HTTP/1.1 200 OK\r\nTransfer-Encoding: xchunked\r\nContent-Length: 5\r\n\r\nHELLO',
    ],
    ['obs-fold in a header', 'HTTP/1.1 200 OK\r\nX-A: a\r\n b\r\nContent-Length: 5\r\n\r\nHELLO'],
  ])('answers 502 to %s, passing none of it on', async (_name, answer) => {
    const u = await rawUpstream((s) => {
      s.once('data', () => s.end(answer));
    });
    const gw = await gatewayTo(engine, u.url);
    const res = await send(`${gw.url}/faulty/x`);
    expect(res.status).toBe(502);
    expect(res.headers['set-cookie']).toBeUndefined();
    expect(res.text).not.toContain('HELLO');
    await expectUnharmed(gw);
  });

  it('serves every GET when the upstream closes each connection right after answering', async () => {
    const u = await upstream((req, res) => {
      req.resume();
      // Closes without saying so: the pooled connection dies as the next request may be going out.
      res.on('finish', () => res.socket?.destroySoon());
      res.writeHead(200, { 'content-length': 2 });
      res.end('ok');
    });
    const gw = await gatewayTo(engine, u.url, { retry: { attempts: 2, budget: 1 } });
    const statuses: number[] = [];
    for (let i = 0; i < 300; i++) statuses.push((await send(`${gw.url}/faulty/${i}`)).status);
    expect(statuses.filter((s) => s !== 200)).toEqual([]);
    await expectUnharmed(gw);
  });

  it('serves every GET at an upstream whose keep-alive is far shorter than the gateway', async () => {
    const u = await upstream(ok(), { keepAliveTimeout: 1 });
    const gw = await gatewayTo(engine, u.url, { retry: { attempts: 2, budget: 1 } });
    const statuses: number[] = [];
    for (let i = 0; i < 300; i++) statuses.push((await send(`${gw.url}/faulty/${i}`)).status);
    expect(statuses.filter((s) => s !== 200)).toEqual([]);
    await expectUnharmed(gw);
  });
});

describe.each<Engine>(['undici', 'http-proxy'])('clients that go away (%s engine)', (engine) => {
  it('aborts the upstream request when the client leaves before the answer', async () => {
    let upstreamClosed!: Promise<unknown>;
    let arrived!: () => void;
    const arrival = new Promise<void>((r) => {
      arrived = r;
    });
    const u = await upstream((req) => {
      upstreamClosed = closeOf(req.socket);
      arrived();
    });
    const gw = await gatewayTo(engine, u.url);
    const conn = await RawConnection.open(gw.port);
    await conn.write(head('GET /faulty/x HTTP/1.1', 'Host: api'));
    await arrival;
    conn.destroy();
    await upstreamClosed;
    await expectUnharmed(gw);
  });

  it('aborts the upstream request when the client leaves mid-upload; the upstream never gets a whole body', async () => {
    let ended = false;
    let upstreamClosed!: Promise<unknown>;
    let gotData!: () => void;
    const data = new Promise<void>((r) => {
      gotData = r;
    });
    const u = await upstream((req) => {
      upstreamClosed = closeOf(req.socket);
      req.once('data', () => gotData());
      req.on('end', () => {
        ended = true;
      });
      req.resume();
    });
    const gw = await gatewayTo(engine, u.url);
    const conn = await RawConnection.open(gw.port);
    await conn.write(head('POST /faulty/x HTTP/1.1', 'Host: api', 'Content-Length: 1000000'));
    await conn.write(Buffer.alloc(100_000, 2));
    await data;
    conn.destroy();
    await upstreamClosed;
    expect(ended).toBe(false);
    await expectUnharmed(gw);
  });

  it('stops reading from the upstream when the client leaves mid-download', async () => {
    let upstreamClosed!: Promise<unknown>;
    const u = await upstream((req, res) => {
      upstreamClosed = closeOf(res);
      req.resume();
      res.writeHead(200, { 'content-type': 'application/octet-stream' });
      // An endless body, written as fast as the gateway takes it.
      const chunk = Buffer.alloc(64 * 1024, 3);
      const pump = () => {
        while (!res.destroyed && res.write(chunk)) {}
        if (!res.destroyed) res.once('drain', pump);
      };
      pump();
    });
    const gw = await gatewayTo(engine, u.url);
    await new Promise<void>((resolve, reject) => {
      const req = request({ host: '127.0.0.1', port: gw.port, path: '/faulty/x', agent: false }, (res) => {
        res.once('data', () => {
          req.destroy();
          resolve();
        });
      });
      req.on('error', () => {});
      req.once('error', reject);
      req.end();
    });
    await upstreamClosed;
    await expectUnharmed(gw);
  });
});
