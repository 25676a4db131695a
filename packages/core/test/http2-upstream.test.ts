import { createHash } from 'node:crypto';
import { once } from 'node:events';
import {
  createServer as createHttpServer,
  request as httpRequest,
  type IncomingMessage,
  type ServerResponse,
} from 'node:http';
import {
  connect as connectHttp2,
  constants,
  createServer as createH2cServer,
  createSecureServer,
  type Http2SecureServer,
  type Http2Server,
  type Http2Session,
  type IncomingHttpHeaders,
  type ServerHttp2Session,
  type ServerHttp2Stream,
} from 'node:http2';
import type { AddressInfo } from 'node:net';
import { Readable } from 'node:stream';
import { type GatewayContext, Http2Engine, targetFromUrl, UndiciEngine } from '@lucid/gateway-core';
import { freePort, type RunningGateway, send, startGateway, startUpstream, until } from '@lucid/test-kit';
import { createPki } from '@lucid/test-kit/consul';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';

const cleanup: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  for (const close of cleanup.splice(0).reverse()) await close();
});

type StreamHandler = (stream: ServerHttp2Stream, headers: IncomingHttpHeaders, up: H2Upstream) => void;

interface H2Upstream {
  /** `h2c://127.0.0.1:port`, or `https://localhost:port` with TLS. */
  url: string;
  port: number;
  /** Sessions the server accepted, and how many of them are still open. */
  sessions: ServerHttp2Session[];
  open(): number;
  /** Request headers of every stream, in order. */
  seen: IncomingHttpHeaders[];
  close(): Promise<void>;
}

/** A real node:http2 upstream on a loopback port 0, h2c or TLS. */
async function h2Upstream(handler: StreamHandler, tls?: { cert: string; key: string }): Promise<H2Upstream> {
  const server: Http2Server | Http2SecureServer = tls
    ? createSecureServer({ ...tls, allowHTTP1: false })
    : createH2cServer();
  const sessions: ServerHttp2Session[] = [];
  const closed = new Set<ServerHttp2Session>();
  const seen: IncomingHttpHeaders[] = [];
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  const up: H2Upstream = {
    url: tls ? `https://localhost:${port}` : `h2c://127.0.0.1:${port}`,
    port,
    sessions,
    open: () => sessions.length - closed.size,
    seen,
    async close() {
      for (const s of sessions) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
  server.on('session', (s) => {
    sessions.push(s);
    s.once('close', () => closed.add(s));
  });
  server.on('stream', (stream, headers) => {
    seen.push(headers);
    stream.on('error', () => {});
    handler(stream, headers, up);
  });
  cleanup.push(() => up.close());
  return up;
}

async function gateway(
  service: Record<string, unknown>,
  extra: Record<string, unknown> = {},
  top: Record<string, unknown> = {},
): Promise<RunningGateway> {
  const gw = await startGateway({
    ...top,
    services: { grpc: { health: false, ...service } },
    routes: [{ prefix: '/', service: 'grpc', stripPrefix: false, ...extra }],
  });
  cleanup.push(() => gw.close());
  return gw;
}

/** Reads a request's whole body as the upstream sees it. */
async function readAll(stream: NodeJS.ReadableStream): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of stream) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

const hello: StreamHandler = (stream, headers) => {
  stream.respond({ ':status': 200, 'content-type': 'text/plain', 'x-path': String(headers[':path']) });
  stream.end('hello over h2');
};

/** An HTTP/1.1 request whose answer keeps its trailers. */
function sendWithTrailers(
  url: string,
  opts: {
    method?: string;
    headers?: Record<string, string>;
    body?: Buffer;
    trailers?: Record<string, string>;
  } = {},
): Promise<{
  status: number;
  headers: IncomingMessage['headers'];
  body: Buffer;
  trailers: Record<string, string>;
}> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      url,
      { method: opts.method ?? 'GET', headers: opts.headers, agent: false },
      (res) => {
        readAll(res).then(
          (body) =>
            resolve({
              status: res.statusCode ?? 0,
              headers: res.headers,
              body,
              trailers: res.trailers as Record<string, string>,
            }),
          reject,
        );
      },
    );
    req.on('error', reject);
    if (opts.body) req.write(opts.body);
    if (opts.trailers) req.addTrailers(opts.trailers);
    req.end();
  });
}

/** The gateway's handler behind an h2c listener of our own (node's compatibility API), and a client session to it. */
/** An HTTP/2 client session to the gateway's own port (h2c by prior knowledge). */
async function h2Front(gw: RunningGateway) {
  const session = connectHttp2(gw.url);
  cleanup.push(async () => {
    session.destroy();
  });
  return session;
}

/** A minimal context for driving an engine directly, served by a real HTTP/1.1 listener. */
async function engineFront(
  run: (ctx: GatewayContext) => Promise<unknown>,
): Promise<{ url: string; failures: unknown[] }> {
  const failures: unknown[] = [];
  const front = createHttpServer((req, res) => {
    const ctx = { req, res, body: req, requestId: 'r1', responseHeaders: {}, upstreamHeaders: {} };
    run(ctx as unknown as GatewayContext).catch((err: unknown) => {
      failures.push(err);
      res.destroy();
    });
  });
  await new Promise<void>((resolve) => front.listen(0, '127.0.0.1', resolve));
  cleanup.push(() => new Promise((resolve) => front.close(resolve)));
  return { url: `http://127.0.0.1:${(front.address() as AddressInfo).port}`, failures };
}

describe('HTTP/2 upstreams over h2c', () => {
  it('forwards a GET with pseudo-headers and no connection-specific fields', async () => {
    const up = await h2Upstream(hello);
    const gw = await gateway({ targets: [up.url] });
    const r = await send(`${gw.url}/say/hi?x=1`, {
      headers: { connection: 'keep-alive, x-drop', 'x-drop': '1', te: 'trailers, deflate', 'x-keep': 'yes' },
    });
    expect(r.status).toBe(200);
    expect(r.text).toBe('hello over h2');
    expect(r.headers['x-path']).toBe('/say/hi?x=1');
    expect(r.headers['x-request-id']).toBeTruthy();
    const seen = up.seen[0]!;
    expect(seen[':method']).toBe('GET');
    expect(seen[':authority']).toBe(`127.0.0.1:${up.port}`);
    expect(seen[':scheme']).toBe('http');
    expect(seen.te).toBe('trailers');
    expect(seen['x-keep']).toBe('yes');
    expect(seen['x-drop']).toBeUndefined();
    expect(seen.connection).toBeUndefined();
    expect(seen.host).toBeUndefined();
    expect(seen['x-request-id']).toBe(r.headers['x-request-id']);
    // The access log names the target as configured.
    const line = await until(
      async () => gw.logs.find((l) => l.msg === 'request'),
      (l) => l !== undefined,
    );
    expect(line?.upstream).toBe(`h2c://127.0.0.1:${up.port}`);
  });

  it('streams 2 MB both ways', async () => {
    const big = Buffer.alloc(2 * 1024 * 1024, 'abcdefgh');
    const up = await h2Upstream((stream) => {
      void readAll(stream).then((body) => {
        stream.respond({ ':status': 200, 'x-sha': sha(body) });
        stream.end(Buffer.concat([body, body]));
      });
    });
    const gw = await gateway({ targets: [up.url] });
    for (const buffering of [true, false]) {
      const r = await send(`${gw.url}/upload?b=${buffering}`, { method: 'POST', body: big });
      expect(r.status).toBe(200);
      expect(r.headers['x-sha']).toBe(sha(big));
      expect(r.body.length).toBe(4 * 1024 * 1024);
      expect(sha(r.body)).toBe(sha(Buffer.concat([big, big])));
    }
    // A streamed body of unknown length (chunked from the client).
    const chunked = await send(`${gw.url}/upload`, { method: 'POST', body: Readable.from([big, big]) });
    expect(chunked.headers['x-sha']).toBe(sha(Buffer.concat([big, big])));
  });

  it('relays response trailers and the client request trailers', async () => {
    const up = await h2Upstream((stream) => {
      void readAll(stream).then((body) => {
        stream.respond({ ':status': 200, 'content-type': 'application/grpc' }, { waitForTrailers: true });
        stream.on('wantTrailers', () => stream.sendTrailers({ 'grpc-status': '0', 'x-sum': sha(body) }));
        stream.end(body);
      });
      stream.on('trailers', (t) => {
        up.seen.push({ ...t, trailer: 'yes' });
      });
    });
    const gw = await gateway({ targets: [up.url], requestBuffering: false });
    const body = Buffer.from('payload');
    const r = await sendWithTrailers(`${gw.url}/t`, {
      method: 'POST',
      headers: { 'transfer-encoding': 'chunked', te: 'trailers' },
      body,
      trailers: { 'x-client-sum': 'abc', 'x-request-id': 'forged' },
    });
    expect(r.status).toBe(200);
    expect(r.body.toString()).toBe('payload');
    expect(r.trailers['grpc-status']).toBe('0');
    expect(r.trailers['x-sum']).toBe(sha(body));
    const trailers = up.seen.find((h) => h.trailer === 'yes');
    expect(trailers?.['x-client-sum']).toBe('abc');
    // What the gateway owns is never taken from a client's trailers.
    expect(trailers?.['x-request-id']).toBeUndefined();
  });

  it('relays a trailers-only answer (HEADERS with END_STREAM) to an HTTP/1.1 client', async () => {
    const up = await h2Upstream((stream) => {
      stream.respond(
        { ':status': 200, 'content-type': 'application/grpc', 'grpc-status': '14', 'grpc-message': 'down' },
        { endStream: true },
      );
    });
    const gw = await gateway({ targets: [up.url] });
    const r = await send(`${gw.url}/svc/Method`, { method: 'POST', body: 'x' });
    expect(r.status).toBe(200);
    expect(r.headers['grpc-status']).toBe('14');
    expect(r.headers['grpc-message']).toBe('down');
    expect(r.body.length).toBe(0);
  });

  it('relays a trailers-only answer to an HTTP/2 client as one HEADERS frame with END_STREAM', async () => {
    const up = await h2Upstream((stream) => {
      stream.respond(
        { ':status': 200, 'content-type': 'application/grpc', 'grpc-status': '5' },
        { endStream: true },
      );
    });
    const gw = await gateway({ targets: [up.url] });
    const session = await h2Front(gw);
    const stream = session.request({
      ':method': 'POST',
      ':path': '/x',
      'content-type': 'application/grpc',
      te: 'trailers',
    });
    stream.end(Buffer.from([0, 0, 0, 0, 0]));
    const [headers, flags] = (await once(stream, 'response')) as [IncomingHttpHeaders, number];
    let dataFrames = 0;
    stream.on('data', () => dataFrames++);
    await once(stream, 'close');
    expect(headers[':status']).toBe(200);
    expect(headers['grpc-status']).toBe('5');
    expect(flags & constants.NGHTTP2_FLAG_END_STREAM).toBe(constants.NGHTTP2_FLAG_END_STREAM);
    expect(dataFrames).toBe(0);
    expect(up.seen[0]?.te).toBe('trailers');
  });

  it('forwards an HTTP/2 client body without content-length, and its trailers', async () => {
    const up = await h2Upstream((stream) => {
      let trailers: IncomingHttpHeaders = {};
      stream.on('trailers', (t) => {
        trailers = t;
      });
      void readAll(stream).then((body) => {
        stream.respond({ ':status': 200, 'x-sha': sha(body), 'x-trailer': String(trailers['x-client-sum']) });
        stream.end();
      });
    });
    const gw = await gateway({ targets: [up.url], requestBuffering: false });
    const session = await h2Front(gw);
    const stream = session.request({ ':method': 'POST', ':path': '/up' }, { waitForTrailers: true });
    const body = Buffer.alloc(300_000, 'h');
    stream.on('wantTrailers', () => stream.sendTrailers({ 'x-client-sum': 'sum1' }));
    stream.end(body);
    const [headers] = (await once(stream, 'response')) as [IncomingHttpHeaders];
    stream.resume();
    await once(stream, 'close');
    expect(headers[':status']).toBe(200);
    expect(headers['x-sha']).toBe(sha(body));
    expect(headers['x-trailer']).toBe('sum1');
  });

  it('closes a session that stays idle', async () => {
    const up = await h2Upstream(hello);
    const engine = new Http2Engine({ sessionIdleTimeout: 100 });
    cleanup.push(() => engine.close());
    const target = targetFromUrl(up.url);
    const front = await engineFront((ctx) =>
      engine.forward(ctx, target, {
        path: '/',
        headers: { host: target.url.host },
        timeout: 5_000,
        transport: { key: 't', connectTimeout: 1_000, idleTimeout: 60_000 },
      }),
    );
    expect((await send(`${front.url}/`)).text).toBe('hello over h2');
    expect(engine.sessionCount).toBe(1);
    await until(
      async () => engine.sessionCount,
      (n) => n === 0,
    );
    await until(
      async () => up.open(),
      (n) => n === 0,
    );
  });

  it('multiplexes 50 concurrent requests on one session', async () => {
    const waiting: ServerHttp2Stream[] = [];
    const up = await h2Upstream((stream) => {
      waiting.push(stream);
      // Answer only once all 50 are open at the same time.
      if (waiting.length === 50)
        for (const s of waiting.splice(0)) s.respond({ ':status': 204 }, { endStream: true });
    });
    const gw = await gateway({ targets: [up.url] });
    const statuses = await Promise.all(
      Array.from({ length: 50 }, (_, i) => send(`${gw.url}/c/${i}`).then((r) => r.status)),
    );
    expect(statuses.every((s) => s === 204)).toBe(true);
    expect(up.sessions.length).toBe(1);
  });

  it('opens another session when the peer allows fewer concurrent streams', async () => {
    const waiting: ServerHttp2Stream[] = [];
    const server = createH2cServer({ settings: { maxConcurrentStreams: 5 } });
    const sessions: ServerHttp2Session[] = [];
    server.on('session', (s) => sessions.push(s));
    server.on('stream', (stream, headers) => {
      if (headers[':path'] === '/warm') {
        stream.respond({ ':status': 204 }, { endStream: true });
        return;
      }
      waiting.push(stream);
      if (waiting.length === 10)
        for (const s of waiting.splice(0)) s.respond({ ':status': 204 }, { endStream: true });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    cleanup.push(async () => {
      for (const s of sessions) s.destroy();
      await new Promise((resolve) => server.close(resolve));
    });
    const gw = await gateway({ targets: [`h2c://127.0.0.1:${(server.address() as AddressInfo).port}`] });
    // Settings arrive with the first session: warm it up, then 10 at once need two sessions of 5.
    expect((await send(`${gw.url}/warm`)).status).toBe(204);
    const statuses = await Promise.all(
      Array.from({ length: 10 }, () => send(`${gw.url}/c`).then((r) => r.status)),
    );
    expect(statuses.every((s) => s === 204)).toBe(true);
    expect(sessions.length).toBe(2);
  });

  it('reconnects after the upstream sends GOAWAY or drops the session', async () => {
    const up = await h2Upstream((stream, _h) => {
      stream.respond({ ':status': 200 });
      stream.end('ok');
    });
    const gw = await gateway({ targets: [up.url] });
    expect((await send(`${gw.url}/a`)).status).toBe(200);
    up.sessions[0]!.goaway(constants.NGHTTP2_NO_ERROR);
    // Whether the GOAWAY arrived before the next request or after it, that request is answered.
    expect((await send(`${gw.url}/b`)).status).toBe(200);
    expect(up.sessions.length).toBe(2);
    // Dropped without a GOAWAY: the gateway learns it from the closed socket.
    up.sessions[1]!.destroy();
    expect((await send(`${gw.url}/c`)).status).toBe(200);
    expect(up.sessions.length).toBe(3);
  });

  it('answers 503 for a refused port and retries an idempotent request on another target', async () => {
    const dead = `h2c://127.0.0.1:${await freePort()}`;
    const gwDown = await gateway({ targets: [dead], retry: { attempts: 0 } });
    const down = await send(`${gwDown.url}/x`);
    expect(down.status).toBe(503);
    expect(down.text).not.toContain('127.0.0.1');

    const up = await h2Upstream(hello);
    const gw = await gateway({ targets: [dead, up.url], balancer: 'round-robin' });
    const statuses = await Promise.all(
      Array.from({ length: 6 }, () => send(`${gw.url}/x`).then((r) => r.status)),
    );
    expect(statuses).toEqual([200, 200, 200, 200, 200, 200]);
  });

  it('answers 504 when no response headers arrive in time, and cancels the stream', async () => {
    let cancelled = 0;
    const up = await h2Upstream((stream) => {
      stream.on('close', () => {
        if (stream.rstCode === constants.NGHTTP2_CANCEL) cancelled++;
      });
    });
    const gw = await gateway({ targets: [up.url], timeout: '200ms', retry: { attempts: 0 } });
    const r = await send(`${gw.url}/slow`);
    expect(r.status).toBe(504);
    await until(
      async () => cancelled,
      (n) => n === 1,
    );
  });

  it('cuts the answer when the upstream goes quiet past the idle timeout, and cancels its stream', async () => {
    let closedWith: number | undefined;
    const up = await h2Upstream((stream) => {
      stream.respond({ ':status': 200 });
      stream.write('partial');
      stream.on('close', () => {
        closedWith = stream.rstCode;
      });
    });
    const gw = await gateway({ targets: [up.url], timeouts: { idle: '200ms' }, retry: { attempts: 0 } });
    const outcome = await send(`${gw.url}/quiet`).then(
      (r) => `complete ${r.status}`,
      (err: Error) => `cut: ${err.message}`,
    );
    expect(outcome).toMatch(/^cut: /);
    await until(
      async () => closedWith,
      (c) => c !== undefined,
    );
    expect(closedWith).toBe(constants.NGHTTP2_CANCEL);
  });

  it('answers 502 for a stream reset with another code, without retrying it', async () => {
    const up = await h2Upstream((stream) => stream.close(constants.NGHTTP2_INTERNAL_ERROR));
    const other = await h2Upstream(hello);
    const gw = await gateway({ targets: [up.url, other.url], balancer: 'round-robin' });
    const statuses = await Promise.all([1, 2].map(() => send(`${gw.url}/r`).then((r) => r.status)));
    expect(statuses.sort()).toEqual([200, 502]);
    expect(up.seen.length).toBe(1);
  });

  it('retries a stream the upstream refused (RST_STREAM REFUSED_STREAM)', async () => {
    const refusing = await h2Upstream((stream) => stream.close(constants.NGHTTP2_REFUSED_STREAM));
    const up = await h2Upstream(hello);
    const gw = await gateway({ targets: [refusing.url, up.url], balancer: 'round-robin' });
    const statuses = await Promise.all(
      Array.from({ length: 4 }, () => send(`${gw.url}/r`).then((r) => r.status)),
    );
    expect(statuses).toEqual([200, 200, 200, 200]);
    expect(refusing.seen.length).toBeGreaterThan(0);
    // Alone, a refused stream is "unavailable": 503, not a 502.
    const only = await gateway({ targets: [refusing.url], retry: { attempts: 0 } });
    expect((await send(`${only.url}/r`)).status).toBe(503);
  });

  it('cancels the upstream stream when the client goes away', async () => {
    let closedWith: number | undefined;
    const up = await h2Upstream((stream) => {
      stream.respond({ ':status': 200 });
      stream.write('first');
      stream.on('close', () => {
        closedWith = stream.rstCode;
      });
    });
    const gw = await gateway({ targets: [up.url] });
    await new Promise<void>((resolve, reject) => {
      const req = httpRequest(`${gw.url}/long`, { agent: false }, (res) => {
        res.once('data', () => {
          req.destroy();
          resolve();
        });
      });
      req.on('error', () => {});
      req.on('close', resolve);
      req.once('timeout', reject);
      req.end();
    });
    await until(
      async () => closedWith,
      (c) => c !== undefined,
    );
    expect(closedWith).toBe(constants.NGHTTP2_CANCEL);
  });

  it('answers 502 for response headers too large, and keeps serving', async () => {
    const up = await h2Upstream((stream, headers) => {
      if (headers[':path'] === '/huge')
        stream.respond({ ':status': 200, 'x-big': 'x'.repeat(100_000) }, { endStream: true });
      else stream.respond({ ':status': 204 }, { endStream: true });
    });
    const gw = await gateway({ targets: [up.url], retry: { attempts: 0 } });
    const huge = await send(`${gw.url}/huge`);
    expect(huge.status).toBe(502);
    expect((await send(`${gw.url}/fine`)).status).toBe(204);
  });

  it('holds a bounded amount when the client reads slowly (response backpressure)', async () => {
    const total = 32 * 1024 * 1024;
    const chunk = Buffer.alloc(16 * 1024, 'z');
    let pushed = 0;
    let upstreamSession: Http2Session | undefined;
    const up = await h2Upstream((stream) => {
      upstreamSession = stream.session;
      stream.respond({ ':status': 200 });
      const pump = () => {
        while (pushed < total) {
          pushed += chunk.length;
          const more = stream.write(chunk);
          if (pushed >= total) stream.end();
          if (!more) {
            stream.once('drain', pump);
            return;
          }
        }
      };
      pump();
    });
    const gw = await gateway({ targets: [up.url] });
    let received = 0;
    let resume: () => void = () => {};
    const done = new Promise<number>((resolve, reject) => {
      const req = httpRequest(`${gw.url}/big`, { agent: false }, (res) => {
        res.once('data', (c: Buffer) => {
          received += c.length;
          res.pause();
          resume = () => {
            res.on('data', (d: Buffer) => {
              received += d.length;
            });
            res.resume();
          };
        });
        res.on('end', () => resolve(received));
      });
      req.on('error', reject);
      req.end();
    });
    await until(
      async () => received,
      (n) => n > 0,
    );
    // Ping round trips: the gateway has processed everything sent before them; with the client
    // paused, flow control has stopped the upstream well short of the whole body.
    for (let i = 0; i < 5; i++) await new Promise((resolve) => upstreamSession!.ping(resolve));
    await until(
      async () => pushed,
      () => true,
    );
    expect(pushed).toBeLessThan(total / 2);
    resume();
    expect(await done).toBe(total);
  });

  it('holds a bounded amount when the upstream reads slowly (request backpressure)', async () => {
    const total = 64 * 1024 * 1024;
    const chunk = Buffer.alloc(64 * 1024, 'q');
    let upstreamStream: ServerHttp2Stream | undefined;
    const up = await h2Upstream((stream) => {
      upstreamStream = stream;
      stream.pause();
    });
    const gw = await gateway(
      { targets: [up.url], requestBuffering: false },
      {},
      { server: { limits: { body: '100mb' } } },
    );
    let pulled = 0;
    const body = new Readable({
      read() {
        if (pulled >= total) this.push(null);
        else {
          pulled += chunk.length;
          this.push(chunk);
        }
      },
    });
    const req = httpRequest(`${gw.url}/upload`, {
      method: 'POST',
      agent: false,
      headers: { 'content-length': total },
    });
    req.on('error', () => {});
    body.pipe(req);
    await until(
      async () => upstreamStream,
      (s) => s !== undefined,
    );
    for (let i = 0; i < 5; i++) await new Promise((resolve) => upstreamStream!.session!.ping(resolve));
    expect(pulled).toBeLessThan(total / 2);
    req.destroy();
  });

  it('probes h2 targets for health over HTTP/2', async () => {
    const up = await h2Upstream((stream, headers) => {
      stream.respond({ ':status': headers[':path'] === '/healthz' ? 200 : 500 }, { endStream: true });
    });
    const gw = await gateway({ targets: [up.url], health: { path: '/healthz', interval: '1s' } });
    const health = await until(
      async () => (await send(`${gw.url}/health`)).json<{ services: Record<string, unknown> }>(),
      (h) => h.services.grpc === true,
    );
    expect(health.services.grpc).toBe(true);
    expect(up.seen.some((h) => h[':path'] === '/healthz')).toBe(true);
  });

  it('an h2c:// target that speaks only HTTP/1.1: 502, and its health check fails', async () => {
    const h1 = await startUpstream();
    cleanup.push(() => h1.close());
    const port = new URL(h1.url).port;
    const gw = await gateway({
      targets: [`h2c://127.0.0.1:${port}`],
      retry: { attempts: 0 },
      health: { path: '/health', interval: '1s', unhealthyThreshold: 1 },
    });
    const health = await until(
      async () => (await send(`${gw.url}/health`)).json<{ services: Record<string, unknown> }>(),
      (h) => h.services.grpc === false,
    );
    expect(health.services.grpc).toBe(false);
    const r = await send(`${gw.url}/x`);
    expect(r.status).toBe(502);
    expect(r.text).not.toContain('127.0.0.1');
  });

  it('fetches the OpenAPI document of an h2c service over HTTP/2', async () => {
    const doc = JSON.stringify({
      openapi: '3.0.3',
      info: { title: 'grpc-json', version: '1' },
      paths: { '/items': { get: { responses: { '200': { description: 'ok' } } } } },
    });
    const up = await h2Upstream((stream, headers) => {
      if (headers[':path'] !== '/openapi.json')
        return void stream.respond({ ':status': 404 }, { endStream: true });
      stream.respond({ ':status': 200, 'content-type': 'application/json' });
      stream.end(doc);
    });
    const gw = await startGateway({
      services: { grpc: { targets: [up.url], health: false, openapi: '/openapi.json' } },
      routes: [{ prefix: '/api', service: 'grpc', auth: 'public' }],
    });
    cleanup.push(() => gw.close());
    const merged = (await gw.gateway.openapi({ refresh: true })) as { paths: Record<string, unknown> };
    expect(Object.keys(merged.paths)).toContain('/api/items');
    expect(up.seen.some((h) => h[':path'] === '/openapi.json')).toBe(true);
  });

  it('refuses a WebSocket handshake to an HTTP/2 service with a clear 400', async () => {
    const up = await h2Upstream(hello);
    const gw = await gateway({ targets: [up.url] });
    const r = await send(`${gw.url}/ws`, {
      headers: {
        connection: 'upgrade',
        upgrade: 'websocket',
        'sec-websocket-version': '13',
        'sec-websocket-key': 'dGhlIHNhbXBsZSBub25jZQ==',
      },
    });
    expect(r.status).toBe(400);
    expect(r.text).toContain('HTTP/2');
    expect(up.seen.length).toBe(0);
  });

  it('closes the sessions of gone targets on reload, and every session on close', async () => {
    const a = await h2Upstream(hello);
    const b = await h2Upstream(hello);
    const gw = await startGateway({
      services: { grpc: { targets: [a.url], health: false } },
      routes: [{ prefix: '/', service: 'grpc' }],
    });
    expect((await send(`${gw.url}/x`)).status).toBe(200);
    expect(a.open()).toBe(1);
    await gw.gateway.reload({
      services: { grpc: { targets: [b.url], health: false } },
      routes: [{ prefix: '/', service: 'grpc' }],
    });
    expect((await send(`${gw.url}/x`)).status).toBe(200);
    await until(
      async () => a.open(),
      (n) => n === 0,
    );
    expect(b.open()).toBe(1);
    await gw.close();
    await until(
      async () => b.open(),
      (n) => n === 0,
    );
  });
});

describe('HTTP/2 upstreams over TLS (ALPN h2)', () => {
  let pki: Awaited<ReturnType<typeof createPki>>;
  let tls: { cert: string; key: string };
  let caFile: string;
  beforeAll(async () => {
    pki = await createPki('lucid.test');
    const ca = await pki.createCa('h2 test CA');
    tls = await pki.issue(ca, { dns: ['localhost'], ips: ['127.0.0.1'] }, 'localhost');
    caFile = await pki.file('ca.pem', ca.cert);
  });
  afterAll(() => pki.close());

  it('forwards GET and POST to an https target with http2: true', async () => {
    const up = await h2Upstream((stream, headers) => {
      void readAll(stream).then((body) => {
        stream.respond({
          ':status': 200,
          'x-scheme': String(headers[':scheme']),
          'x-alpn': String(stream.session?.alpnProtocol),
        });
        stream.end(body.length ? body : 'tls hello');
      });
    }, tls);
    const gw = await gateway({ targets: [up.url], http2: true, tls: { ca: caFile } });
    const get = await send(`${gw.url}/x`);
    expect(get.status).toBe(200);
    expect(get.text).toBe('tls hello');
    expect(get.headers['x-scheme']).toBe('https');
    expect(get.headers['x-alpn']).toBe('h2');
    const big = Buffer.alloc(2 * 1024 * 1024, 'tls!');
    const post = await send(`${gw.url}/x`, { method: 'POST', body: big });
    expect(sha(post.body)).toBe(sha(big));
    expect(up.sessions.length).toBe(1);
  });

  it('probes an https HTTP/2 target for health over TLS with ALPN h2', async () => {
    const up = await h2Upstream((stream, headers) => {
      const alpn = stream.session?.alpnProtocol;
      stream.respond(
        { ':status': headers[':path'] === '/healthz' && alpn === 'h2' ? 200 : 500 },
        { endStream: true },
      );
    }, tls);
    const gw = await gateway({
      targets: [up.url],
      http2: true,
      tls: { ca: caFile },
      health: { path: '/healthz', interval: '1s' },
    });
    const health = await until(
      async () => (await send(`${gw.url}/health`)).json<{ services: Record<string, unknown> }>(),
      (h) => h.services.grpc === true,
    );
    expect(health.services.grpc).toBe(true);
  });

  it('answers 502 when an https target does not speak h2 (ALPN), and keeps serving', async () => {
    const { createServer: createHttpsServer } = await import('node:https');
    const h1only = createHttpsServer(tls, (_req, res) => res.end('h1'));
    await new Promise<void>((resolve) => h1only.listen(0, '127.0.0.1', resolve));
    cleanup.push(() => new Promise((resolve) => h1only.close(resolve)));
    const port = (h1only.address() as AddressInfo).port;
    const gw = await gateway({
      targets: [`https://localhost:${port}`],
      http2: true,
      tls: { ca: caFile },
      retry: { attempts: 0 },
    });
    expect((await send(`${gw.url}/x`)).status).toBe(502);
    expect((await send(`${gw.url}/x`)).status).toBe(502);
  });

  it('answers 503 when the TLS handshake does not finish within the connect timeout', async () => {
    const { createServer: createNetServer } = await import('node:net');
    const sockets = new Set<import('node:net').Socket>();
    const silent = createNetServer((socket) => sockets.add(socket));
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    cleanup.push(async () => {
      for (const s of sockets) s.destroy();
      await new Promise((resolve) => silent.close(resolve));
    });
    const port = (silent.address() as AddressInfo).port;
    const gw = await gateway({
      targets: [`https://localhost:${port}`],
      http2: true,
      tls: { ca: caFile },
      timeouts: { connect: '200ms' },
      retry: { attempts: 0 },
    });
    const r = await send(`${gw.url}/x`);
    expect(r.status).toBe(503);
    expect(sockets.size).toBe(1);
  });

  it('refuses an upstream whose certificate is not trusted (502, nothing forwarded)', async () => {
    const up = await h2Upstream(hello, tls);
    const gw = await gateway({ targets: [up.url], http2: true, retry: { attempts: 0 } });
    const r = await send(`${gw.url}/x`);
    expect(r.status).toBe(502);
    expect(up.seen.length).toBe(0);
  });
});

describe('HTTP/1.1 upstreams and trailers', () => {
  it('relays an HTTP/1.1 upstream trailers and forwards te: trailers only', async () => {
    const up = createHttpServer((req: IncomingMessage, res: ServerResponse) => {
      res.writeHead(200, { 'x-te': String(req.headers.te), trailer: 'x-done' });
      res.write('body');
      res.addTrailers({ 'x-done': 'yes' });
      res.end();
    });
    await new Promise<void>((resolve) => up.listen(0, '127.0.0.1', resolve));
    cleanup.push(() => new Promise((resolve) => up.close(resolve)));
    const gw = await gateway({ targets: [`http://127.0.0.1:${(up.address() as AddressInfo).port}`] });
    const r = await sendWithTrailers(`${gw.url}/x`, { headers: { te: 'gzip, trailers' } });
    expect(r.headers['x-te']).toBe('trailers');
    expect(r.trailers['x-done']).toBe('yes');
    const plain = await sendWithTrailers(`${gw.url}/x`, { headers: { te: 'gzip' } });
    expect(plain.headers['x-te']).toBe('undefined');
  });

  it('gives each route the engine of its service: HTTP/1.1 for http://, HTTP/2 for h2c://', async () => {
    const h1 = await startUpstream();
    cleanup.push(() => h1.close());
    const h2 = await h2Upstream(hello);
    const used: string[] = [];
    const inner = new Http2Engine();
    const http2Engine = {
      name: 'counting-http2',
      forward: (...args: Parameters<Http2Engine['forward']>) => {
        used.push(args[2].path);
        return inner.forward(...args);
      },
      close: () => inner.close(),
    };
    const gw = await startGateway(
      {
        services: { plain: { targets: [h1.url], health: false }, grpc: { targets: [h2.url], health: false } },
        routes: [
          { prefix: '/plain', service: 'plain' },
          { prefix: '/grpc', service: 'grpc' },
        ],
      },
      [],
      { http2Engine },
    );
    cleanup.push(() => gw.close());
    expect((await send(`${gw.url}/plain/x`)).status).toBe(200);
    expect((await send(`${gw.url}/grpc/y`)).text).toBe('hello over h2');
    expect(used).toEqual(['/y']);
    expect(h1.seen.length).toBe(1);
  });
});

describe('deadline (OutgoingRequest.deadline)', () => {
  it('Http2Engine cancels the stream and rejects with LUCID_UPSTREAM_DEADLINE', async () => {
    let cancelled = false;
    const up = await h2Upstream((stream) => {
      stream.respond({ ':status': 200 });
      stream.write('partial');
      stream.on('close', () => {
        cancelled = stream.rstCode === constants.NGHTTP2_CANCEL;
      });
    });
    const engine = new Http2Engine();
    cleanup.push(() => engine.close());
    const target = targetFromUrl(up.url);
    const front = await engineFront((ctx) =>
      engine.forward(ctx, target, {
        path: '/stuck',
        headers: { host: target.url.host },
        timeout: 10_000,
        deadline: 150,
        transport: { key: 't', connectTimeout: 1_000, idleTimeout: 60_000 },
      }),
    );
    await send(`${front.url}/`).catch(() => {});
    await until(
      async () => front.failures.length,
      (n) => n === 1,
    );
    expect((front.failures[0] as { code?: string }).code).toBe('LUCID_UPSTREAM_DEADLINE');
    await until(
      async () => cancelled,
      (c) => c,
    );
  });

  it('UndiciEngine aborts and rejects with LUCID_UPSTREAM_DEADLINE', async () => {
    let closed = false;
    const up = createHttpServer((req, res) => {
      res.writeHead(200);
      res.write('partial');
      req.socket.on('close', () => {
        closed = true;
      });
    });
    await new Promise<void>((resolve) => up.listen(0, '127.0.0.1', resolve));
    cleanup.push(() => new Promise((resolve) => up.close(resolve)));
    const engine = new UndiciEngine();
    cleanup.push(() => engine.close());
    const target = targetFromUrl(`http://127.0.0.1:${(up.address() as AddressInfo).port}`);
    const front = await engineFront((ctx) =>
      engine.forward(ctx, target, {
        path: '/stuck',
        headers: { host: target.url.host },
        timeout: 10_000,
        deadline: 150,
        transport: { key: 't', connectTimeout: 1_000, idleTimeout: 60_000 },
      }),
    );
    await send(`${front.url}/`).catch(() => {});
    await until(
      async () => front.failures.length,
      (n) => n === 1,
    );
    expect((front.failures[0] as { code?: string }).code).toBe('LUCID_UPSTREAM_DEADLINE');
    await until(
      async () => closed,
      (c) => c,
    );
  });
});
