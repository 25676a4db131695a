import { EventEmitter, once } from 'node:events';
import { createServer, type IncomingHttpHeaders, request, type Server } from 'node:http';
import { Readable, Writable } from 'node:stream';
import { setTimeout as delay } from 'node:timers/promises';
import {
  createGateway,
  createLogger,
  type Gateway,
  GatewayError,
  type GatewayPlugin,
} from '@lucid/gateway-core';
import {
  echo,
  freePort,
  type Reply,
  type RunningGateway,
  send,
  startGateway,
  startUpstream,
  type Upstream,
} from '@lucid/test-kit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const APP = 'https://app.lucid.dev';
const P = 'lucid_gateway_';

/** An in-memory pino destination: every line parsed, and an event per line to wait on. */
function lineSink() {
  const lines: Array<Record<string, unknown>> = [];
  const events = new EventEmitter();
  const stream = new Writable({
    write(chunk: Buffer, _enc, cb) {
      for (const text of chunk.toString().split('\n')) {
        if (!text) continue;
        const line = JSON.parse(text) as Record<string, unknown>;
        lines.push(line);
        events.emit('line', line);
      }
      cb();
    },
  });
  /** Resolves with the first line (already written or still to come) that matches. */
  const next = (match: (l: Record<string, unknown>) => boolean) =>
    new Promise<Record<string, unknown>>((resolve) => {
      const found = lines.find(match);
      if (found) return resolve(found);
      const onLine = (l: Record<string, unknown>) => {
        if (!match(l)) return;
        events.off('line', onLine);
        resolve(l);
      };
      events.on('line', onLine);
    });
  return { stream, lines, next };
}

/** Polls a condition that changes in the background (health checks), up to a deadline. */
async function until<T>(probe: () => Promise<T>, ok: (v: T) => boolean, ms = 10_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await probe();
    if (ok(value) || Date.now() > deadline) return value;
    await delay(10);
  }
}

/** A health endpoint answering `status`, and the echo everywhere else. */
function serviceAnswering(healthStatus: number) {
  return startUpstream((req, res, seen) => {
    if (req.url === '/health') {
      res.writeHead(healthStatus, { 'content-type': 'application/json' });
      res.end('{}');
      return;
    }
    echo(req, res, seen);
  });
}

const healthChecks = (u: Upstream) => u.seen.filter((r) => r.url === '/health').length;

/** A chunked request whose body is `chunks` pieces of `size` bytes; resolves with the answer. */
function sendChunked(url: string, chunks: number, size: number): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const body = Readable.from(
      (function* () {
        for (let i = 0; i < chunks; i++) yield Buffer.alloc(size, 0x62);
      })(),
    );
    const req = request(
      url,
      { method: 'POST', agent: false, headers: { 'transfer-encoding': 'chunked' } },
      (res) => {
        const parts: Buffer[] = [];
        res.on('data', (c: Buffer) => parts.push(c));
        res.on('end', () => {
          const buf = Buffer.concat(parts);
          const text = buf.toString();
          resolve({
            status: res.statusCode ?? 0,
            headers: res.headers,
            body: buf,
            text,
            json: () => JSON.parse(text),
          });
        });
      },
    );
    // The gateway may close while the rest of the body is still being written; the answer is what counts.
    req.on('error', (err) => (req.writableEnded ? undefined : reject(err)));
    body.pipe(req);
  });
}

/** Sample lines of the gateway's own HTTP metric families, values dropped: the series that exist. */
function requestSeries(metricsText: string): string[] {
  return metricsText
    .split('\n')
    .filter((l) => l.startsWith(`${P}http_request`))
    .map((l) => l.slice(0, l.lastIndexOf(' ')))
    .sort();
}

describe('operability over real HTTP', () => {
  let up: Upstream;
  let down: Upstream;
  let gw: RunningGateway;
  let goneUrl: string;
  const sink = lineSink();

  beforeAll(async () => {
    up = await serviceAnswering(200);
    down = await serviceAnswering(503);
    goneUrl = `http://127.0.0.1:${await freePort()}`;
    // One check at start, then hourly: any later check would be one caused by /health itself.
    const health = { path: '/health', interval: '1h', timeout: '2s', unhealthyThreshold: 1 };
    gw = await startGateway(
      {
        server: {
          limits: { body: '1kb' },
          cors: { origins: [APP], credentials: true },
          allowedHosts: ['127.0.0.1', 'localhost'],
        },
        services: {
          up: { targets: [up.url], health },
          down: { targets: [down.url], health },
          gone: { targets: [goneUrl], retry: { attempts: 0 } },
        },
        routes: [
          { prefix: '/api', service: 'up', auth: 'public' },
          { prefix: '/legacy', service: 'down', auth: 'public' },
          { prefix: '/gone', service: 'gone', auth: 'public' },
        ],
      },
      [],
      { logger: createLogger({ level: 'info', pretty: false, accessLog: true }, sink.stream) },
    );
  });

  afterAll(async () => {
    await gw.close();
    await Promise.all([up.close(), down.close()]);
  });

  describe('/health', () => {
    it('reports a down upstream as false and the whole as degraded', async () => {
      const res = await until(
        () => send(`${gw.url}/health`),
        (r) => r.json<{ services: Record<string, boolean> }>().services.down === false,
      );
      expect(res.status).toBe(200);
      expect(res.headers['content-type']).toBe('application/json');
      expect(res.headers['x-request-id']).toBeTruthy();
      const body = res.json();
      expect(body).toMatchObject({
        status: 'degraded',
        service: 'lucid-api-gateway',
        // gone has no health path: its default TCP-connect check finds nothing listening.
        services: { up: true, down: false, gone: false },
      });
      expect(body.version).toMatch(/^\d+\.\d+\.\d+/);
    });

    it('answers from cached background checks, never one upstream call per hit', async () => {
      await until(
        () => send(`${gw.url}/health`),
        (r) => r.json<{ services: Record<string, boolean> }>().services.down === false,
      );
      const before = [healthChecks(up), healthChecks(down)];
      expect(before).toEqual([1, 1]);
      await Promise.all(Array.from({ length: 25 }, () => send(`${gw.url}/health`)));
      expect([healthChecks(up), healthChecks(down)]).toEqual(before);
    });

    it('answers /health/live and /health/ready', async () => {
      const live = await send(`${gw.url}/health/live`);
      expect([live.status, live.json()]).toEqual([200, { status: 'up' }]);
      const ready = await send(`${gw.url}/health/ready`);
      expect(ready.status).toBe(200);
      expect((await send(`${gw.url}/health/nope`)).status).toBe(404);
    });

    it('sends headers only to HEAD', async () => {
      const res = await send(`${gw.url}/health`, { method: 'HEAD' });
      expect(res.status).toBe(200);
      expect(res.body.length).toBe(0);
      expect(Number(res.headers['content-length'])).toBeGreaterThan(0);
    });
  });

  it('answers GET / with name, version, docs and the route prefixes', async () => {
    const res = await send(`${gw.url}/`);
    expect(res.status).toBe(200);
    expect(res.json()).toMatchObject({
      name: 'lucid-api-gateway',
      docs: '/docs',
      routes: ['/api', '/legacy', '/gone'],
    });
  });

  describe('/metrics', () => {
    it('exposes request, upstream, in-flight and process metrics in the Prometheus format', async () => {
      expect((await send(`${gw.url}/api/users/42`)).status).toBe(200);
      expect((await send(`${gw.url}/gone/x`)).status).toBeGreaterThanOrEqual(502);
      const res = await send(`${gw.url}/metrics`);
      expect(res.status).toBe(200);
      expect(res.headers['content-type']).toMatch(/^text\/plain; version=0\.0\.4/);
      const text = res.text;
      expect(text).toMatch(
        new RegExp(`^${P}http_requests_total\\{route="/api",method="GET",status_class="2xx"\\} \\d+`, 'm'),
      );
      expect(text).toMatch(
        new RegExp(
          `^${P}http_request_duration_seconds_bucket\\{le="0.001",route="/api",method="GET",status_class="2xx"\\}`,
          'm',
        ),
      );
      expect(text).toMatch(
        new RegExp(`^${P}upstream_duration_seconds_count\\{service="up",outcome="ok"\\} [1-9]`, 'm'),
      );
      expect(text).toMatch(
        new RegExp(`^${P}upstream_errors_total\\{service="gone",outcome="unavailable"\\} [1-9]`, 'm'),
      );
      expect(text).toMatch(
        new RegExp(`^${P}upstream_target_healthy\\{service="down",target="${down.url}"\\} 0`, 'm'),
      );
      // The scrape itself is in flight while the registry is read (earlier requests may still be closing).
      expect(text).toMatch(new RegExp(`^${P}http_requests_in_flight [1-9]\\d*$`, 'm'));
      expect(text).toMatch(new RegExp(`^${P}process_cpu_seconds_total `, 'm'));
      expect(text).toMatch(new RegExp(`^${P}nodejs_eventloop_lag_seconds `, 'm'));
    });

    it('keeps cardinality flat across 1,000 requests to 1,000 different paths', async () => {
      const hit = (i: number) =>
        Promise.all([
          send(`${gw.url}/api/items/${i}-x`),
          send(`${gw.url}/unknown-${i}/y`, { method: 'POST' }),
        ]);
      await hit(-1); // every label combination the loop below will produce, once
      const before = requestSeries((await send(`${gw.url}/metrics`)).text);
      for (let batch = 0; batch < 1000; batch += 50) {
        const replies = await Promise.all(Array.from({ length: 50 }, (_, k) => hit(batch + k)));
        for (const [routed, unknown] of replies) {
          expect(routed.status).toBe(200);
          expect(unknown.status).toBe(404);
        }
      }
      const text = (await send(`${gw.url}/metrics`)).text;
      expect(requestSeries(text)).toEqual(before);
      expect(text).not.toContain('items/');
      expect(text).not.toContain('unknown-');
      const routed = Number(
        new RegExp(
          `^${P}http_requests_total\\{route="/api",method="GET",status_class="2xx"\\} (\\d+)`,
          'm',
        ).exec(text)?.[1],
      );
      expect(routed).toBeGreaterThanOrEqual(1001);
    });
  });

  describe('access log', () => {
    it('writes one JSON line per request with the agreed fields and no credentials', async () => {
      const res = await send(`${gw.url}/api/orders/7?token=query-secret`, {
        method: 'POST',
        body: '{"n":1}',
        headers: {
          'content-type': 'application/json',
          authorization: 'Bearer header-secret',
          cookie: 'sid=cookie-secret',
          'x-request-id': 'log-test-1',
        },
      });
      expect(res.status).toBe(200);
      const line = await sink.next((l) => l.msg === 'request' && l.reqId === 'log-test-1');
      expect(line).toMatchObject({
        level: 'info',
        reqId: 'log-test-1',
        method: 'POST',
        path: '/api/orders/7',
        route: '/api',
        status: 200,
        upstream: up.url,
        bytes: res.body.length,
        ip: '127.0.0.1',
      });
      expect(typeof line.ms).toBe('number');
      expect(Object.keys(line).sort()).toEqual(
        [
          'bytes',
          'http',
          'ip',
          'level',
          'method',
          'ms',
          'msg',
          'name',
          'path',
          'reqId',
          'route',
          'status',
          'time',
          'upstream',
        ].sort(),
      );
      expect(sink.lines.filter((l) => l.reqId === 'log-test-1' && l.msg === 'request')).toHaveLength(1);
      const all = JSON.stringify(sink.lines);
      for (const secret of ['header-secret', 'cookie-secret', 'query-secret'])
        expect(all).not.toContain(secret);
    });

    it('logs requests that never reached a route', async () => {
      await send(`${gw.url}/no/such/route`, { headers: { 'x-request-id': 'log-test-404' } });
      const line = await sink.next((l) => l.msg === 'request' && l.reqId === 'log-test-404');
      expect(line).toMatchObject({ status: 404, route: null, upstream: null, path: '/no/such/route' });
    });
  });

  describe('request id and traceparent', () => {
    const seenBy = (res: Reply) => res.json<{ headers: IncomingHttpHeaders }>().headers;

    it('keeps a well-formed x-request-id and sends it upstream and back', async () => {
      const res = await send(`${gw.url}/api/x`, { headers: { 'x-request-id': 'client-id_1.2:3' } });
      expect(res.headers['x-request-id']).toBe('client-id_1.2:3');
      expect(seenBy(res)['x-request-id']).toBe('client-id_1.2:3');
    });

    it('replaces a malformed one with a generated id, the same upstream and back', async () => {
      const res = await send(`${gw.url}/api/x`, { headers: { 'x-request-id': 'bad id\twith spaces' } });
      const id = res.headers['x-request-id'];
      expect(id).toMatch(/^[0-9a-f-]{36}$/);
      expect(seenBy(res)['x-request-id']).toBe(id);
    });

    it('propagates a valid traceparent and generates one when absent', async () => {
      const tp = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';
      expect(seenBy(await send(`${gw.url}/api/x`, { headers: { traceparent: tp } })).traceparent).toBe(tp);
      const made = seenBy(await send(`${gw.url}/api/x`)).traceparent;
      expect(made).toMatch(/^00-[0-9a-f]{32}-[0-9a-f]{16}-01$/);
      const invalid = seenBy(
        await send(`${gw.url}/api/x`, {
          headers: { traceparent: `00-${'0'.repeat(32)}-00f067aa0ba902b7-01` },
        }),
      );
      expect(invalid.traceparent).toMatch(/^00-(?!0{32})[0-9a-f]{32}-[0-9a-f]{16}-01$/);
    });
  });

  describe('CORS', () => {
    it('answers a preflight from an allowed origin at the gateway', async () => {
      const before = up.seen.length;
      const res = await send(`${gw.url}/api/orders`, {
        method: 'OPTIONS',
        headers: {
          origin: APP,
          'access-control-request-method': 'PUT',
          'access-control-request-headers': 'authorization',
        },
      });
      expect(res.status).toBe(204);
      expect(res.headers).toMatchObject({
        'access-control-allow-origin': APP,
        'access-control-allow-credentials': 'true',
        'access-control-max-age': '600',
      });
      expect(res.headers['access-control-allow-methods']).toContain('PUT');
      expect(res.headers['access-control-allow-headers']).toContain('authorization');
      expect(res.headers.vary).toMatch(/\bOrigin\b/);
      expect(res.headers['x-request-id']).toBeTruthy();
      expect(up.seen.length).toBe(before);
    });

    it('refuses a preflight from another origin with 403', async () => {
      const before = up.seen.length;
      const res = await send(`${gw.url}/api/orders`, {
        method: 'OPTIONS',
        headers: { origin: 'https://app.lucid.dev.evil.example', 'access-control-request-method': 'PUT' },
      });
      expect(res.status).toBe(403);
      expect(res.json()).toMatchObject({ code: 'GW_FORBIDDEN', detail: 'origin not allowed' });
      expect(res.headers['access-control-allow-origin']).toBeUndefined();
      expect(up.seen.length).toBe(before);
    });

    it('adds CORS headers to the upstream answer for an allowed origin only', async () => {
      const allowed = await send(`${gw.url}/api/x`, { headers: { origin: APP } });
      expect(allowed.status).toBe(200);
      expect(allowed.headers['access-control-allow-origin']).toBe(APP);
      expect(allowed.headers['access-control-allow-credentials']).toBe('true');
      expect(allowed.headers['access-control-expose-headers']).toContain('x-request-id');
      expect(allowed.headers.vary).toMatch(/\bOrigin\b/);

      const refused = await send(`${gw.url}/api/x`, { headers: { origin: 'https://evil.example' } });
      expect(refused.status).toBe(200);
      expect(refused.headers['access-control-allow-origin']).toBeUndefined();
      expect(refused.headers['access-control-allow-credentials']).toBeUndefined();
    });
  });

  it('refuses a Host that is not on the allow-list', async () => {
    const res = await send(`${gw.url}/api/x`, { headers: { host: 'evil.example' } });
    expect(res.status).toBe(400);
    expect(res.json()).toMatchObject({ code: 'GW_HOST_NOT_ALLOWED' });
    const ok = await send(`${gw.url}/api/x`, { headers: { host: `localhost:${gw.port}` } });
    expect(ok.status).toBe(200);
  });

  describe('body limit', () => {
    it('answers 413 to a Content-Length over the limit without forwarding', async () => {
      const before = up.seen.length;
      const res = await send(`${gw.url}/api/upload`, { method: 'POST', body: Buffer.alloc(2048, 0x61) });
      expect(res.status).toBe(413);
      expect(res.json()).toMatchObject({ code: 'GW_BODY_TOO_LARGE' });
      expect(res.headers.connection).toBe('close');
      expect(up.seen.length).toBe(before);
    });

    it('answers 413 to a chunked body once it passes the limit', async () => {
      const res = await sendChunked(`${gw.url}/api/upload-chunked`, 32, 256);
      expect(res.status).toBe(413);
      expect(res.json()).toMatchObject({ code: 'GW_BODY_TOO_LARGE' });
      // Whatever reached the upstream was cut at the limit, never the whole 8kb.
      for (const r of up.seen.filter((s) => s.url === '/upload-chunked'))
        expect(r.bodyBytes).toBeLessThanOrEqual(1024);
    });

    it('lets bodies within the limit through, chunked or not', async () => {
      expect(
        (await send(`${gw.url}/api/small`, { method: 'POST', body: Buffer.alloc(1024) })).json().bodyBytes,
      ).toBe(1024);
      const chunked = await sendChunked(`${gw.url}/api/small-chunked`, 4, 256);
      expect(chunked.status).toBe(200);
      expect(chunked.json().bodyBytes).toBe(1024);
    });
  });
});

describe.each(['undici', 'http-proxy'] as const)('with the %s engine', (engine) => {
  let up: Upstream;
  let gw: RunningGateway;
  const sink = lineSink();

  beforeAll(async () => {
    up = await startUpstream();
    gw = await startGateway(
      {
        server: { engine, limits: { body: '1kb' } },
        services: { up: { targets: [up.url], timeout: '2s' } },
        routes: [{ prefix: '/api', service: 'up', auth: 'public' }],
      },
      [],
      { logger: createLogger({ level: 'info', pretty: false, accessLog: true }, sink.stream) },
    );
  });
  afterAll(async () => {
    await gw.close();
    await up.close();
  });

  it('logs the bytes the upstream answer carried', async () => {
    const res = await send(`${gw.url}/api/bytes`, { headers: { 'x-request-id': `bytes-${engine}` } });
    expect(res.status).toBe(200);
    const line = await sink.next((l) => l.msg === 'request' && l.reqId === `bytes-${engine}`);
    expect(line).toMatchObject({ status: 200, route: '/api', upstream: up.url, bytes: res.body.length });
    expect(res.body.length).toBeGreaterThan(0);
  });

  it('answers 413 to an oversized chunked body', async () => {
    const res = await sendChunked(`${gw.url}/api/upload`, 32, 256);
    expect(res.status).toBe(413);
    expect(res.json()).toMatchObject({ code: 'GW_BODY_TOO_LARGE' });
  });

  it('keeps serving after an oversized chunked body', async () => {
    const res = await sendChunked(`${gw.url}/api/upload-again`, 32, 256);
    expect(res.status).toBeGreaterThanOrEqual(400);
    const after = await send(`${gw.url}/api/after`);
    expect(after.status).toBe(200);
  });
});

describe('built-in paths are configurable and public unless configured otherwise', () => {
  let gw: RunningGateway;
  let up: Upstream;
  // A stand-in for an auth plugin: refuses routes whose policy is "required" without a credential.
  const requireCredential: GatewayPlugin = {
    name: 'require-credential',
    middleware(route) {
      if (route.config.auth !== 'required') return undefined;
      return async function requireCredential(ctx, next) {
        if (!ctx.req.headers.authorization) throw new GatewayError('GW_UNAUTHORIZED');
        await next();
      };
    },
  };

  beforeAll(async () => {
    up = await startUpstream();
    gw = await startGateway(
      {
        services: { up: { targets: [up.url] } },
        routes: [{ prefix: '/api', service: 'up' }],
        builtins: { health: { path: '/status' }, metrics: { auth: 'required' }, root: false },
      },
      [requireCredential],
    );
  });
  afterAll(async () => {
    await gw.close();
    await up.close();
  });

  it('serves health at its configured path, without credentials', async () => {
    const res = await send(`${gw.url}/status`);
    expect(res.status).toBe(200);
    expect(res.json()).toMatchObject({ status: 'healthy', services: { up: true } });
    expect((await send(`${gw.url}/status/live`)).status).toBe(200);
    expect((await send(`${gw.url}/health`)).status).toBe(404);
  });

  it('leaves out a disabled built-in', async () => {
    expect((await send(`${gw.url}/`)).status).toBe(404);
  });

  it('protects a built-in configured with auth: required', async () => {
    expect((await send(`${gw.url}/metrics`)).status).toBe(401);
    expect((await send(`${gw.url}/api/x`)).status).toBe(401);
    const res = await send(`${gw.url}/metrics`, { headers: { authorization: 'Bearer x' } });
    expect(res.status).toBe(200);
    expect(res.text).toContain(`${P}http_requests_total`);
  });
});

describe('/health/ready follows the lifecycle', () => {
  let gateway: Gateway;
  let embedded: Server;
  let up: Upstream;
  let releaseStop: () => void = () => {};

  afterAll(async () => {
    releaseStop();
    await gateway?.close({ graceMs: 1_000 });
    embedded?.closeAllConnections();
    await new Promise<void>((resolve) => (embedded ? embedded.close(() => resolve()) : resolve()));
    await up?.close();
  });

  it('is 503 before start, 200 once listening, 503 while draining', async () => {
    up = await startUpstream();
    let stopCalled!: () => void;
    const stopping = new Promise<void>((resolve) => {
      stopCalled = resolve;
    });
    const drainHold = new Promise<void>((resolve) => {
      releaseStop = resolve;
    });
    // Holds the gateway in its first stop phase (leave, before the drain: still accepting) until
    // the test has looked at /health/ready.
    const holdDrain: GatewayPlugin = {
      name: 'hold-drain',
      async leave() {
        stopCalled();
        await drainHold;
      },
    };
    const sink = lineSink();
    gateway = createGateway(
      {
        services: { up: { targets: [up.url] } },
        routes: [{ prefix: '/api', service: 'up', auth: 'public' }],
      },
      {
        plugins: [holdDrain],
        logger: createLogger({ level: 'info', pretty: false, accessLog: true }, sink.stream),
      },
    );
    // Embedded in a server of our own, before the gateway is started.
    embedded = createServer(gateway.handler);
    embedded.listen(0, '127.0.0.1');
    await once(embedded, 'listening');
    const embeddedUrl = `http://127.0.0.1:${(embedded.address() as { port: number }).port}`;

    const starting = await send(`${embeddedUrl}/health/ready`);
    expect([starting.status, starting.json()]).toEqual([503, { status: 'not ready', waiting: ['start'] }]);
    expect((await send(`${embeddedUrl}/health/live`)).status).toBe(200);

    const { port } = await gateway.listen({ port: 0, host: '127.0.0.1' });
    const url = `http://127.0.0.1:${port}`;
    expect((await send(`${url}/health/ready`)).status).toBe(200);
    expect((await send(`${embeddedUrl}/health/ready`)).status).toBe(200);

    const closing = gateway.close({ graceMs: 1_000 });
    await stopping;
    const draining = await send(`${url}/health/ready`);
    expect([draining.status, draining.json()]).toEqual([503, { status: 'not ready', waiting: ['draining'] }]);
    expect((await send(`${url}/health/live`)).status).toBe(200);
    releaseStop();
    await closing;
  });
});
