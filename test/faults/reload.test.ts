import { Agent, createServer, request } from 'node:http';
import type { GatewayConfigInput } from '@lucid/gateway-core';
import { type RunningGateway, startGateway, startUpstream, type Upstream, until } from '@lucid/test-kit';
import { afterEach, describe, expect, it } from 'vitest';
import { WebSocket, WebSocketServer } from 'ws';

/**
 * Reloads while clients keep keep-alive connections busy: no request fails, requests already
 * running finish on the config they started with, and new ones follow the new config at once.
 * What was learnt of targets (an open breaker, requests in flight) carries over a reload that
 * left the service unchanged, and a replaced runtime's background checks stop at once.
 */

const cleanups: Array<() => unknown> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

/** An upstream that answers with its name. */
async function named(name: string): Promise<Upstream> {
  const u = await startUpstream((_req, res) => {
    res.writeHead(200, { 'content-type': 'text/plain', 'content-length': name.length });
    res.end(name);
  });
  cleanups.push(() => u.close());
  return u;
}

function get(agent: Agent, port: number, path: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, agent }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => {
        body += c;
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end();
  });
}

/** Clients in a loop until stopped; `answered(n)` resolves once n more answers came in. */
function load(port: number, clients: number, path: string) {
  const agent = new Agent({ keepAlive: true, maxSockets: clients });
  const answers: Array<{ status: number; body: string }> = [];
  const failures: unknown[] = [];
  let waiters: Array<{ at: number; resolve: () => void }> = [];
  let running = true;
  const loops = Array.from({ length: clients }, async () => {
    while (running) {
      try {
        answers.push(await get(agent, port, path));
      } catch (err) {
        failures.push(err);
      }
      const total = answers.length + failures.length;
      for (const w of waiters.filter((w) => total >= w.at)) w.resolve();
      waiters = waiters.filter((w) => total < w.at);
    }
  });
  return {
    answers,
    failures,
    answered: (n: number) =>
      new Promise<void>((resolve) => waiters.push({ at: answers.length + failures.length + n, resolve })),
    stop: async () => {
      running = false;
      await Promise.all(loops);
      agent.destroy();
    },
  };
}

const config = (
  engine: 'undici' | 'http-proxy',
  upstream: Upstream,
  extraRoute: boolean,
): GatewayConfigInput => ({
  server: { engine },
  logging: { level: 'warn', pretty: false, accessLog: false },
  services: {
    svc: { targets: [upstream.url], health: false },
    other: { targets: [upstream.url], health: false },
  },
  routes: [
    { prefix: '/svc', service: 'svc', auth: 'public' },
    ...(extraRoute ? [{ prefix: '/other', service: 'other', auth: 'public' as const }] : []),
  ],
});

describe.each(['undici', 'http-proxy'] as const)('reload under load (%s engine)', (engine) => {
  it('swaps upstreams twenty times under eight busy clients without one failed request', async () => {
    const [a, b] = [await named('a'), await named('b')];
    const gw: RunningGateway = await startGateway(config(engine, a, false));
    cleanups.push(() => gw.close());
    const traffic = load(gw.port, 8, '/svc/x');
    cleanups.push(() => traffic.stop());

    let current = a;
    for (let i = 0; i < 20; i++) {
      await traffic.answered(20);
      current = current === a ? b : a;
      await gw.gateway.reload(config(engine, current, i % 2 === 0));
    }
    // Whatever starts after the last reload goes to the last upstream.
    const mark = traffic.answers.length;
    await traffic.answered(40);
    await traffic.stop();

    expect(traffic.failures).toEqual([]);
    expect(traffic.answers.filter((r) => r.status !== 200)).toEqual([]);
    expect(new Set(traffic.answers.map((r) => r.body))).toEqual(new Set(['a', 'b']));
    // Up to eight were already running on the previous config when the last reload landed.
    const after = traffic.answers.slice(mark + 8).map((r) => r.body);
    expect(after.length).toBeGreaterThan(0);
    expect(new Set(after)).toEqual(new Set([current === a ? 'a' : 'b']));
  });

  it('keeps serving the old config, unharmed, when a reload is refused', async () => {
    const a = await named('a');
    const gw = await startGateway(config(engine, a, false));
    cleanups.push(() => gw.close());
    const traffic = load(gw.port, 4, '/svc/x');
    cleanups.push(() => traffic.stop());
    await traffic.answered(10);
    await expect(
      gw.gateway.reload({ routes: [{ prefix: '/svc', service: 'missing' }] }),
    ).rejects.toMatchObject({ name: 'ConfigError' });
    await traffic.answered(20);
    await traffic.stop();
    expect(traffic.failures).toEqual([]);
    expect(traffic.answers.filter((r) => r.status !== 200 || r.body !== 'a')).toEqual([]);
  });
});

/** An upstream that answers after the test's `gate` opens for it; counts requests in flight and the most at once. */
async function gated(): Promise<
  Upstream & { peak(): number; current(): number; flowing(on: boolean): void }
> {
  let now = 0;
  let peak = 0;
  let open = true;
  const parked: Array<() => void> = [];
  const u = await startUpstream((_req, res) => {
    now++;
    peak = Math.max(peak, now);
    const answer = () =>
      setImmediate(() => {
        now--;
        res.end('ok');
      });
    if (open) answer();
    else parked.push(answer);
  });
  cleanups.push(() => u.close());
  return Object.assign(u, {
    peak: () => peak,
    current: () => now,
    flowing(on: boolean) {
      open = on;
      if (on) for (const a of parked.splice(0)) a();
    },
  });
}

describe('what a reload keeps', () => {
  it('a target whose breaker is open gets no attempt in the 30 requests after a reload that changed nothing', async () => {
    const good = await named('good');
    // Accepts and never answers: each attempt ends in a timeout, which the breaker counts.
    const hung = await startUpstream(() => {});
    cleanups.push(() => hung.close());
    const cfg = (extraRoute: boolean): GatewayConfigInput => ({
      logging: { level: 'warn', pretty: false, accessLog: false },
      services: {
        api: {
          targets: [good.url, hung.url],
          balancer: 'round-robin',
          timeout: '150ms',
          health: false,
          breaker: { failures: 2, cooldown: '10m' },
        },
      },
      routes: [
        { prefix: '/api', service: 'api', auth: 'public' },
        ...(extraRoute ? [{ prefix: '/more', service: 'api', auth: 'public' as const }] : []),
      ],
    });
    const gw = await startGateway(cfg(false));
    cleanups.push(() => gw.close());
    const agent = new Agent({ keepAlive: true });
    cleanups.push(() => agent.destroy());
    // Round robin: every other request tries the hung target until its breaker opens.
    for (let i = 0; hung.seen.length < 2 && i < 20; i++) await get(agent, gw.port, '/api/x');
    expect(hung.seen).toHaveLength(2);

    for (const extraRoute of [true, false]) {
      await gw.gateway.reload(cfg(extraRoute));
      const answers = [];
      for (let i = 0; i < 30; i++) answers.push(await get(agent, gw.port, '/api/x'));
      expect(answers.filter((a) => a.status !== 200 || a.body !== 'good')).toEqual([]);
    }
    expect(hung.seen).toHaveLength(2);
  });

  it('never exceeds maxConnections per target while old and new runtimes overlap under load', async () => {
    const u = await gated();
    const cfg = (extraRoute: boolean): GatewayConfigInput => ({
      logging: { level: 'warn', pretty: false, accessLog: false },
      services: {
        api: { targets: [u.url], health: false, maxConnections: 2, queue: { size: 200, timeout: '30s' } },
      },
      routes: [
        { prefix: '/api', service: 'api', auth: 'public' },
        ...(extraRoute ? [{ prefix: '/more', service: 'api', auth: 'public' as const }] : []),
      ],
    });
    const gw = await startGateway(cfg(false));
    cleanups.push(() => gw.close());
    const traffic = load(gw.port, 12, '/api/x');
    cleanups.push(() => traffic.stop());
    await traffic.answered(20);
    for (let i = 0; i < 6; i++) {
      // The upstream holds its answers: two requests in flight on the old runtime, ten waiting.
      u.flowing(false);
      await until(
        async () => u.current(),
        (n) => n === 2,
      );
      await gw.gateway.reload(cfg(i % 2 === 0));
      u.flowing(true);
      await traffic.answered(20);
    }
    await traffic.stop();
    expect(traffic.failures).toEqual([]);
    expect(traffic.answers.filter((a) => a.status !== 200)).toEqual([]);
    expect(u.peak()).toBe(2);
  });

  it('stops a replaced runtime checking at once, though a WebSocket keeps it alive', async () => {
    const checked = async () => {
      const server = createServer((_req, res) => res.end('ok'));
      const wss = new WebSocketServer({ server });
      let checks = 0;
      server.on('request', (req) => {
        if (req.url === '/health') checks++;
      });
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      cleanups.push(async () => {
        for (const ws of wss.clients) ws.terminate();
        await new Promise<void>((resolve) => wss.close(() => resolve()));
        server.closeAllConnections();
        await new Promise<void>((resolve) => server.close(() => resolve()));
      });
      return { url: `http://127.0.0.1:${(server.address() as { port: number }).port}`, checks: () => checks };
    };
    const u = await checked();
    const reference = await checked();
    const cfg = (target: string, extraRoute: boolean): GatewayConfigInput => ({
      server: { allowedHosts: ['*'] },
      logging: { level: 'warn', pretty: false, accessLog: false },
      health: { interval: '100ms', timeout: '1s' },
      services: { api: { targets: [target], health: '/health' } },
      routes: [
        { prefix: '/api', service: 'api', auth: 'public', websocket: true },
        ...(extraRoute ? [{ prefix: '/more', service: 'api', auth: 'public' as const }] : []),
      ],
    });
    // A second gateway, never reloaded, checking at the same interval: the clock to compare with.
    const clock = await startGateway(cfg(reference.url, false));
    cleanups.push(() => clock.close());
    const gw = await startGateway(cfg(u.url, false));
    cleanups.push(() => gw.close());
    const ws = new WebSocket(`ws://127.0.0.1:${gw.port}/api/ws`);
    cleanups.push(() => ws.terminate());
    await new Promise<void>((resolve, reject) => {
      ws.once('open', () => resolve());
      ws.once('error', reject);
    });
    for (let i = 0; i < 5; i++) await gw.gateway.reload(cfg(u.url, i % 2 === 0));
    expect(ws.readyState).toBe(WebSocket.OPEN);

    const [ours, theirs] = [u.checks(), reference.checks()];
    await until(
      async () => reference.checks(),
      (n) => n >= theirs + 10,
    );
    // One runtime checks, as the reference does; six would check about six times as often.
    expect(u.checks() - ours).toBeLessThanOrEqual(14);
    expect(u.checks() - ours).toBeGreaterThanOrEqual(6);
  });
});
