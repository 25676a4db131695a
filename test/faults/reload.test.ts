import { Agent, request } from 'node:http';
import type { GatewayConfigInput } from '@lucid/gateway-core';
import { type RunningGateway, startGateway, startUpstream, type Upstream } from '@lucid/test-kit';
import { afterEach, describe, expect, it } from 'vitest';

/**
 * Reloads while clients keep keep-alive connections busy: no request fails, requests already
 * running finish on the config they started with, and new ones follow the new config at once.
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
