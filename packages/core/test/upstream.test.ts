import {
  createServer as createHttpServer,
  type IncomingMessage,
  type Server,
  type ServerResponse,
} from 'node:http';
import { createServer as createNetServer, type Socket } from 'node:net';
import { type Discovery, type GatewayPlugin, type Target, targetFromUrl } from '@lucid/gateway-core';
import { echo, type RunningGateway, send, startGateway, startUpstream, type Upstream } from '@lucid/test-kit';
import { afterEach, describe, expect, it } from 'vitest';

const ENGINES = ['undici', 'http-proxy'] as const;

/** Everything a test opened, closed after it whatever happened. */
const cleanup: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  for (const close of cleanup.splice(0).reverse()) await close();
});

async function upstream(...args: Parameters<typeof startUpstream>): Promise<Upstream> {
  const u = await startUpstream(...args);
  cleanup.push(() => u.close());
  return u;
}

async function gateway(
  config: Record<string, unknown>,
  plugins: GatewayPlugin[] = [],
): Promise<RunningGateway> {
  const gw = await startGateway(config, plugins);
  cleanup.push(() => gw.close());
  return gw;
}

/** `n` requests from `concurrency` clients at once; a request that fails at the socket counts as status 0. */
async function many(
  url: string,
  n: number,
  concurrency = 8,
  opts: Parameters<typeof send>[1] = {},
): Promise<number[]> {
  const statuses: number[] = [];
  let started = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (started < n) {
        started++;
        statuses.push(
          await send(url, opts).then(
            (r) => r.status,
            () => 0,
          ),
        );
      }
    }),
  );
  return statuses;
}

const failures = (statuses: number[]) => statuses.filter((s) => s !== 200);

/** One sample of a metric family from /metrics, or undefined. */
async function metric(
  gw: RunningGateway,
  name: string,
  labels: Record<string, string>,
): Promise<number | undefined> {
  const text = (await send(`${gw.url}/metrics`)).text;
  const want = Object.entries(labels).map(([k, v]) => `${k}="${v}"`);
  for (const line of text.split('\n')) {
    if (!line.startsWith(`lucid_gateway_${name}{`)) continue;
    if (want.every((w) => line.includes(w))) return Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return undefined;
}

async function upstreamErrors(gw: RunningGateway, service: string): Promise<number> {
  let total = 0;
  for (const outcome of ['error', 'timeout', 'unavailable']) {
    total += (await metric(gw, 'upstream_errors_total', { service, outcome })) ?? 0;
  }
  return total;
}

/** An echo server on a given port (to bring a killed target back where it was). */
async function listenOn(port: number): Promise<{ server: Server; seen: number[]; close(): Promise<void> }> {
  const seen: number[] = [];
  const sockets = new Set<Socket>();
  const server = createHttpServer((req, res) => {
    seen.push(1);
    req.resume();
    req.on('end', () => res.end('back'));
  });
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', resolve);
  });
  const close = async () => {
    for (const s of sockets) s.destroy();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  };
  cleanup.push(close);
  return { server, seen, close };
}

describe.each(ENGINES)('balancing (%s engine)', (engine) => {
  it('spreads load over the targets (least-request by default)', async () => {
    const ups = [await upstream(), await upstream(), await upstream()];
    const gw = await gateway({
      server: { engine },
      services: { api: { targets: ups.map((u) => u.url) } },
      routes: [{ prefix: '/api', service: 'api' }],
    });
    expect(failures(await many(`${gw.url}/api/x`, 600))).toEqual([]);
    for (const u of ups) expect(u.seen.length).toBeGreaterThan(120);
  });

  it('round-robins in proportion to the weights', async () => {
    const [a, b] = [await upstream(), await upstream()];
    const gw = await gateway({
      server: { engine },
      services: { api: { balancer: 'round-robin', targets: [{ url: a.url, weight: 3 }, b.url] } },
      routes: [{ prefix: '/api', service: 'api' }],
    });
    expect(failures(await many(`${gw.url}/api/x`, 400, 1))).toEqual([]);
    expect([a.seen.length, b.seen.length]).toEqual([300, 100]);
  });

  it('swaps targets atomically when discovery changes them, under load', async () => {
    const [a, b] = [await upstream(), await upstream()];
    let push: ((targets: Target[]) => void) | undefined;
    const discovery: Discovery = {
      name: 'consul',
      watch(_service, onTargets) {
        push = onTargets;
        onTargets([targetFromUrl(a.url)]);
        return () => {
          push = undefined;
        };
      },
    };
    const gw = await gateway(
      {
        server: { engine },
        services: { api: { discovery: 'consul' } },
        routes: [{ prefix: '/api', service: 'api' }],
      },
      [{ name: 'test-discovery', discovery }],
    );
    expect((await send(`${gw.url}/api/x`)).status).toBe(200);
    expect(a.seen.length).toBe(1);
    const lists = [[b.url], [a.url, b.url], [a.url]];
    let flips = 0;
    const load = many(`${gw.url}/api/x`, 400);
    const flipper = setInterval(() => push?.(lists[flips++ % lists.length]!.map((u) => targetFromUrl(u))), 1);
    const statuses = await load;
    clearInterval(flipper);
    expect(failures(statuses)).toEqual([]);
    expect(flips).toBeGreaterThan(0);
    push?.([targetFromUrl(b.url)]);
    const before = a.seen.length;
    expect(failures(await many(`${gw.url}/api/x`, 50))).toEqual([]);
    expect(a.seen.length).toBe(before);
  });
});

describe.each(ENGINES)('outlier ejection and recovery (%s engine)', (engine) => {
  it('ejects a killed target and serves every GET from the others', async () => {
    const ups = [await upstream(), await upstream(), await upstream()];
    const dead = ups[1]!;
    const gw = await gateway({
      server: { engine },
      services: {
        api: { targets: ups.map((u) => u.url), outlier: { ejection: '1m' }, breaker: { cooldown: '1m' } },
      },
      routes: [{ prefix: '/api', service: 'api' }],
    });
    expect(failures(await many(`${gw.url}/api/warm`, 60))).toEqual([]);
    expect(dead.seen.length).toBeGreaterThan(0);
    await dead.close();

    expect(failures(await many(`${gw.url}/api/x`, 300, 4))).toEqual([]);
    expect(await metric(gw, 'upstream_target_healthy', { service: 'api', target: dead.url })).toBe(0);
    expect(await metric(gw, 'upstream_target_healthy', { service: 'api', target: ups[0]!.url })).toBe(1);
    // Out of rotation: no more attempts on it, so no more upstream errors.
    const errors = await upstreamErrors(gw, 'api');
    expect(errors).toBeGreaterThan(0);
    const served = ups[0]!.seen.length + ups[2]!.seen.length;
    expect(failures(await many(`${gw.url}/api/y`, 200))).toEqual([]);
    expect(await upstreamErrors(gw, 'api')).toBe(errors);
    expect(ups[0]!.seen.length + ups[2]!.seen.length).toBe(served + 200);
    expect((await gw.gateway.health()).services.api).toBe(true);
  });

  it('takes a recovered target back once its ejection and breaker cool down (passive only)', async () => {
    const ups = [await upstream(), await upstream()];
    const port = ups[1]!.port;
    const gw = await gateway({
      server: { engine },
      services: {
        api: {
          targets: ups.map((u) => u.url),
          outlier: { ejection: '200ms', maxEjection: '400ms' },
          breaker: { cooldown: '200ms' },
        },
      },
      routes: [{ prefix: '/api', service: 'api' }],
    });
    await ups[1]!.close();
    const statuses = await many(`${gw.url}/api/x`, 100, 4);
    const back = await listenOn(port);
    await expect
      .poll(
        async () => {
          statuses.push(...(await many(`${gw.url}/api/x`, 20, 4)));
          return back.seen.length;
        },
        { timeout: 15_000, interval: 20 },
      )
      .toBeGreaterThan(0);
    expect(failures(statuses)).toEqual([]);
  });

  it('takes a recovered target back as soon as its active health check passes', async () => {
    const ups = [await upstream(), await upstream()];
    const port = ups[1]!.port;
    const deadUrl = ups[1]!.url;
    const gw = await gateway({
      server: { engine },
      services: {
        api: {
          targets: ups.map((u) => u.url),
          health: {
            path: '/health',
            interval: '20ms',
            timeout: '1s',
            healthyThreshold: 1,
            unhealthyThreshold: 1,
          },
          // Only the active check can bring it back within the test.
          outlier: { ejection: '5m' },
          breaker: { cooldown: '5m' },
        },
      },
      routes: [{ prefix: '/api', service: 'api' }],
    });
    await ups[1]!.close();
    await expect
      .poll(() => metric(gw, 'upstream_target_healthy', { service: 'api', target: deadUrl }), {
        timeout: 10_000,
      })
      .toBe(0);
    const statuses = await many(`${gw.url}/api/x`, 100, 4);
    const back = await listenOn(port);
    await expect
      .poll(() => metric(gw, 'upstream_target_healthy', { service: 'api', target: deadUrl }), {
        timeout: 10_000,
      })
      .toBe(1);
    statuses.push(...(await many(`${gw.url}/api/x`, 100, 4)));
    expect(back.seen.length).toBeGreaterThan(10);
    expect(failures(statuses)).toEqual([]);
  });

  it('reports a service with every target down as unhealthy in /health and metrics', async () => {
    const up = await upstream();
    const gw = await gateway({
      server: { engine },
      services: {
        api: { targets: [up.url], breaker: { failures: 2, cooldown: '1m' }, retry: { attempts: 0 } },
      },
      routes: [{ prefix: '/api', service: 'api' }],
    });
    expect((await send(`${gw.url}/health`)).json()).toMatchObject({
      status: 'healthy',
      services: { api: true },
    });
    await up.close();
    await many(`${gw.url}/api/x`, 2, 1);
    const health = await send(`${gw.url}/health`);
    expect(health.status).toBe(503);
    expect(health.json()).toMatchObject({ status: 'unhealthy', services: { api: false } });
    expect(await metric(gw, 'upstream_target_healthy', { service: 'api', target: up.url })).toBe(0);
  });
});

describe.each(ENGINES)('retries (%s engine)', (engine) => {
  /** Reads the whole request, then hangs up without a byte of answer. */
  const hangUp = (req: IncomingMessage) => req.socket.destroy();

  async function twoHangingUp(service: Record<string, unknown> = {}, plugins: GatewayPlugin[] = []) {
    const ups = [await upstream(hangUp), await upstream(hangUp)];
    const gw = await gateway(
      {
        server: { engine },
        services: { api: { targets: ups.map((u) => u.url), outlier: { failures: 100 }, ...service } },
        routes: [{ prefix: '/api', service: 'api' }],
      },
      plugins,
    );
    const seen = () => ups[0]!.seen.length + ups[1]!.seen.length;
    return { ups, gw, seen };
  }

  it('never retries a POST whose bytes were sent', async () => {
    const { gw, seen } = await twoHangingUp();
    const res = await send(`${gw.url}/api/orders`, { method: 'POST', body: '{"id":1}' });
    expect(res.status).toBe(502);
    expect(res.json().code).toBe('GW_UPSTREAM_ERROR');
    expect(seen()).toBe(1);
    const bodiless = await send(`${gw.url}/api/orders`, { method: 'POST' });
    expect(bodiless.status).toBe(502);
    expect(seen()).toBe(2);
  });

  it('never retries a request with a body, even an idempotent one', async () => {
    const { gw, seen } = await twoHangingUp();
    expect((await send(`${gw.url}/api/items/1`, { method: 'PUT', body: 'x' })).status).toBe(502);
    expect(seen()).toBe(1);
  });

  it('retries a GET on another target, a bounded number of times', async () => {
    const { ups, gw, seen } = await twoHangingUp({ retry: { attempts: 2 } });
    expect((await send(`${gw.url}/api/x`)).status).toBe(502);
    expect(seen()).toBe(3);
    // The first retry went to the other target.
    expect(ups[0]!.seen.length).toBeGreaterThan(0);
    expect(ups[1]!.seen.length).toBeGreaterThan(0);
    const noRetries = await twoHangingUp({ retry: { attempts: 0 } });
    expect((await send(`${noRetries.gw.url}/api/x`)).status).toBe(502);
    expect(noRetries.seen()).toBe(1);
  });

  it('retries a body-less request that middleware marked retryable', async () => {
    const marker: GatewayPlugin = {
      name: 'mark-retryable',
      middleware: () =>
        async function markRetryable(ctx, next) {
          if (ctx.req.headers['idempotency-key']) ctx.state.retryable = true;
          await next();
        },
    };
    const { gw, seen } = await twoHangingUp({ retry: { attempts: 1 } }, [marker]);
    expect(
      (await send(`${gw.url}/api/x`, { method: 'POST', headers: { 'idempotency-key': 'k1' } })).status,
    ).toBe(502);
    expect(seen()).toBe(2);
  });

  it('keeps retries within the budget during an outage', async () => {
    const { gw, seen } = await twoHangingUp({ retry: { attempts: 5, budget: 0.1 } });
    const statuses = await many(`${gw.url}/api/x`, 100, 1);
    expect(statuses.every((s) => s === 502)).toBe(true);
    // 100 first attempts; the floor of 10 retries, 10% of the traffic and one free retry per target
    // (the first lost connection after a success looks like the keep-alive race): nowhere near 600.
    expect(seen()).toBeLessThanOrEqual(100 + 10 + 10 + 2);
    expect(seen()).toBeGreaterThanOrEqual(100 + 10);
  });

  it('does not retry once part of the answer reached the client', async () => {
    const up = await upstream((_req, res) => {
      res.writeHead(200, { 'content-length': '100' });
      res.write('partial');
      setImmediate(() => res.socket?.destroy());
    });
    const gw = await gateway({
      server: { engine },
      services: { api: { targets: [up.url] } },
      routes: [{ prefix: '/api', service: 'api' }],
    });
    await expect(send(`${gw.url}/api/x`)).rejects.toThrow();
    expect(up.seen.length).toBe(1);
  });

  it('does not retry a timeout (the upstream may be working on it)', async () => {
    const up = await upstream(() => {});
    const gw = await gateway({
      server: { engine },
      services: { api: { targets: [up.url], timeout: '100ms' } },
      routes: [{ prefix: '/api', service: 'api' }],
    });
    expect((await send(`${gw.url}/api/x`)).status).toBe(504);
    expect(up.seen.length).toBe(1);
  });
});

describe.each(ENGINES)('circuit breaker (%s engine)', (engine) => {
  it('answers 503 at once, without touching the dead target, once the breaker is open', async () => {
    // A target that accepts connections and never answers: the worst kind of dead.
    let connections = 0;
    const sockets = new Set<Socket>();
    const hung = createNetServer((s) => {
      connections++;
      sockets.add(s);
      s.on('close', () => sockets.delete(s));
      s.resume();
    });
    await new Promise<void>((resolve) => hung.listen(0, '127.0.0.1', resolve));
    cleanup.push(async () => {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => hung.close(() => resolve()));
    });
    const { port } = hung.address() as { port: number };
    const gw = await gateway({
      server: { engine },
      services: {
        api: {
          targets: [`http://127.0.0.1:${port}`],
          timeout: '150ms',
          breaker: { failures: 2, cooldown: '1m' },
        },
      },
      routes: [{ prefix: '/api', service: 'api' }],
    });
    expect((await send(`${gw.url}/api/x`)).status).toBe(504);
    expect((await send(`${gw.url}/api/x`)).status).toBe(504);
    const reached = connections;
    for (let i = 0; i < 5; i++) {
      const res = await send(`${gw.url}/api/x`);
      expect(res.status).toBe(503);
      expect(res.json().code).toBe('GW_UPSTREAM_UNAVAILABLE');
      expect(Number(res.headers['retry-after'])).toBeGreaterThan(0);
    }
    expect(connections).toBe(reached);
  });
});

describe.each(ENGINES)('timeouts (%s engine)', (engine) => {
  // undici keeps its timers on a coarse clock (up to a second late), so the gap must be wide.
  const slow = (req: IncomingMessage, res: ServerResponse) => {
    const timer = setTimeout(() => res.end('late'), 2_500);
    res.on('close', () => clearTimeout(timer));
    req.resume();
  };

  it('lets a route override the service response timeout', async () => {
    const up = await upstream(slow);
    const gw = await gateway({
      server: { engine },
      services: { api: { targets: [up.url], timeout: '10s' } },
      routes: [
        { prefix: '/quick', service: 'api', timeout: '100ms' },
        { prefix: '/patient', service: 'api' },
      ],
    });
    const quick = await send(`${gw.url}/quick/x`);
    expect(quick.status).toBe(504);
    expect(quick.json().code).toBe('GW_UPSTREAM_TIMEOUT');
    const patient = await send(`${gw.url}/patient/x`);
    expect(patient.status).toBe(200);
    expect(patient.text).toBe('late');
  });
});

// The http-proxy engine has no body-idle (or connect) timeout of its own yet: undici only.
describe('idle timeout (undici engine)', () => {
  it('lets a route override the service idle timeout, cutting a response that stalls', async () => {
    const up = await upstream((_req, res) => {
      res.writeHead(200, { 'content-length': '10' });
      res.write('stal'); // and nothing more
    });
    const gw = await gateway({
      server: { engine: 'undici' },
      services: { api: { targets: [up.url], timeouts: { idle: '1h' } } },
      routes: [{ prefix: '/stall', service: 'api', timeouts: { idle: '100ms' } }],
    });
    await expect(send(`${gw.url}/stall/x`)).rejects.toThrow();
    expect(up.seen.length).toBe(1); // the body had started: not retried
  });
});

describe.each(ENGINES)('the idle keep-alive race (%s engine)', (engine) => {
  /**
   * An upstream that closes a pooled connection just as the next request arrives on it: on one
   * connection in three, the first request sent over the reused connection is read and dropped, as by
   * a server whose idle timer fired at that moment. A request id seen before (a retry) is served.
   */
  async function racingUpstream() {
    const ids = new Set<string>();
    const sockets = new WeakMap<object, { index: number; requests: number }>();
    let connections = 0;
    let dropped = 0;
    const up = await upstream((req, res, seen) => {
      let socket = sockets.get(req.socket);
      if (!socket) {
        socket = { index: connections++, requests: 0 };
        sockets.set(req.socket, socket);
      }
      socket.requests++;
      const id = String(req.headers['x-request-id']);
      if (socket.requests === 2 && socket.index % 3 === 0 && !ids.has(id)) {
        ids.add(id);
        dropped++;
        req.socket.destroy();
        return;
      }
      ids.add(id);
      echo(req, res, seen);
    });
    return { up, dropped: () => dropped };
  }

  it('retries GETs that hit a connection the upstream closed as the request went out', async () => {
    const { up, dropped } = await racingUpstream();
    const gw = await gateway({
      server: { engine },
      services: { api: { targets: [up.url] } },
      routes: [{ prefix: '/api', service: 'api' }],
    });
    expect(failures(await many(`${gw.url}/api/x`, 500, 8))).toEqual([]);
    expect(dropped()).toBeGreaterThan(0);
  });

  it('answers a POST that hit the race with 502 and never sends it twice', async () => {
    const { up, dropped } = await racingUpstream();
    const gw = await gateway({
      server: { engine },
      services: { api: { targets: [up.url] } },
      routes: [{ prefix: '/api', service: 'api' }],
    });
    const statuses = await many(`${gw.url}/api/x`, 30, 1, { method: 'POST', body: 'order' });
    expect(dropped()).toBeGreaterThan(0);
    expect(statuses.filter((s) => s === 502).length).toBe(dropped());
    expect(up.seen.length).toBe(30);
    expect(new Set(up.seen.map((s) => s.headers['x-request-id'])).size).toBe(30);
  });

  it('serves 2,000 GETs with zero failures at an upstream whose keep-alive timeout is shorter than ours', async () => {
    // Like many servers it does not announce its idle timeout (no Keep-Alive header): it closes a
    // connection after 5ms of quiet, far below the gateway's 60s. Traffic comes in bursts with pauses
    // around that timeout, so pooled connections are often closed just as the next burst reuses them.
    const idleTimers = new Map<Socket, NodeJS.Timeout>();
    const up = await upstream(
      (req, res, seen) => {
        res.once('finish', () => {
          const socket = req.socket;
          idleTimers.set(
            socket,
            setTimeout(() => socket.destroy(), 5),
          );
        });
        echo(req, res, seen);
      },
      { keepAliveTimeout: 0 },
    );
    up.server.on('request', (req: IncomingMessage) => clearTimeout(idleTimers.get(req.socket)));
    cleanup.push(async () => {
      for (const t of idleTimers.values()) clearTimeout(t);
    });
    const gw = await gateway({
      server: { engine },
      services: { api: { targets: [up.url], timeouts: { idle: '60s' } } },
      routes: [{ prefix: '/api', service: 'api' }],
    });
    const statuses: number[] = [];
    for (let burst = 0; burst < 125; burst++) {
      statuses.push(...(await many(`${gw.url}/api/x`, 16, 16)));
      await new Promise((resolve) => setTimeout(resolve, Math.random() * 10)); // load shape, not a wait
    }
    expect(statuses.length).toBe(2_000);
    expect(failures(statuses)).toEqual([]);
    // The race did happen: attempts failed on lost connections, and were retried.
    expect(await metric(gw, 'upstream_errors_total', { service: 'api', outcome: 'error' })).toBeGreaterThan(
      0,
    );
  });
});
