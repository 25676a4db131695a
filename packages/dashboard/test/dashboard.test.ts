import type { Discovery, GatewayPlugin, Target } from '@lucid/gateway-core';
import { targetFromUrl } from '@lucid/gateway-core';
import { type RunningGateway, startGateway, startUpstream, type Upstream } from '@lucid/test-kit';
import { afterEach, describe, expect, it } from 'vitest';
import { z } from 'zod';

const cleanup: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  for (const close of cleanup.splice(0).reverse()) await close();
});

async function upstream(status = 200): Promise<Upstream> {
  const u = await startUpstream((_req, res) => {
    res.writeHead(status, { 'content-length': '2' });
    res.end('ok');
  });
  cleanup.push(() => u.close());
  return u;
}

/** The address of an upstream that is gone: connections to it are refused. */
async function deadUrl(): Promise<string> {
  const u = await startUpstream();
  await u.close();
  return u.url;
}

const QUIET = { level: 'silent', pretty: false, accessLog: false } as const;

async function gateway(
  config: Record<string, unknown>,
  plugins: GatewayPlugin[] = [],
): Promise<RunningGateway> {
  const gw = await startGateway({ logging: QUIET, builtins: { ui: true }, ...config }, plugins);
  cleanup.push(() => gw.close());
  return gw;
}

async function state(gw: RunningGateway, path = '/ui/state.json') {
  const res = await fetch(gw.url + path);
  expect(res.status).toBe(200);
  return (await res.json()) as {
    config: { configHash: string; lastReload: null | { ok: boolean; error?: string; configHash?: string } };
    routes: Array<Record<string, unknown>>;
    routeColumns: Array<{ key: string; label: string }>;
    services: Array<{ name: string; up: boolean; targets: Array<Record<string, unknown>> }>;
  };
}

async function hit(url: string, times: number): Promise<number[]> {
  const statuses: number[] = [];
  for (let i = 0; i < times; i++) {
    const res = await fetch(url);
    statuses.push(res.status);
    await res.arrayBuffer();
  }
  return statuses;
}

const origin = (url: string) => new URL(url).origin;

describe('the dashboard built-in over HTTP', () => {
  it('serves the page, its assets and its state with headers that keep it to itself', async () => {
    const gw = await gateway({ services: { a: { targets: [(await upstream()).url] } }, routes: [] });
    const types: Record<string, RegExp> = {
      '/ui/': /^text\/html/,
      '/ui/app.js': /^text\/javascript/,
      '/ui/app.css': /^text\/css/,
      '/ui/favicon.svg': /^image\/svg\+xml/,
      '/ui/state.json': /^application\/json/,
    };
    for (const [path, type] of Object.entries(types)) {
      const res = await fetch(gw.url + path);
      expect(res.status, path).toBe(200);
      expect(res.headers.get('content-type'), path).toMatch(type);
      const csp = res.headers.get('content-security-policy') ?? '';
      expect(csp, path).toContain("default-src 'none'");
      expect(csp, path).toContain("script-src 'self'");
      expect(csp, path).not.toContain('unsafe-inline');
      expect(csp, path).toContain("frame-ancestors 'none'");
      expect(res.headers.get('x-content-type-options'), path).toBe('nosniff');
      expect(res.headers.get('cache-control'), path).toBe('no-store');
      expect(res.headers.get('referrer-policy'), path).toBe('no-referrer');
      expect(res.headers.get('x-request-id'), path).toBeTruthy();
      await res.arrayBuffer();
    }
    const html = await (await fetch(`${gw.url}/ui/`)).text();
    // Nothing from another origin: no CDN, no web font, no inline script.
    expect(html).not.toMatch(/https?:\/\/(?!www\.w3\.org)/);
    expect(html).not.toMatch(/<script>(?!<\/script>)/);
    expect(html).toContain('name="viewport"');
  });

  it('redirects the bare path to the page (relative, so it survives a prefix) and refuses the rest', async () => {
    const gw = await gateway({
      builtins: { ui: { path: '/ops/board' } },
      services: { a: { targets: [(await upstream()).url] } },
    });
    const bare = await fetch(`${gw.url}/ops/board?tab=1`, { redirect: 'manual' });
    expect(bare.status).toBe(308);
    expect(bare.headers.get('location')).toBe('board/?tab=1');
    const head = await fetch(`${gw.url}/ops/board/state.json`, { method: 'HEAD' });
    expect(head.status).toBe(200);
    expect(await head.text()).toBe('');
    expect(Number(head.headers.get('content-length'))).toBeGreaterThan(0);
    const post = await fetch(`${gw.url}/ops/board/state.json`, { method: 'POST' });
    expect(post.status).toBe(405);
    const other = await fetch(`${gw.url}/ops/board/../../etc/passwd`);
    expect(other.status).toBe(404);
    const unknown = await fetch(`${gw.url}/ops/board/secrets.json`);
    expect(unknown.status).toBe(404);
    expect(unknown.headers.get('content-type')).toMatch(/problem\+json/);
    expect((await fetch(`${gw.url}/ui/`)).status).toBe(404);
  });

  it('a configured route on the same path wins over the dashboard', async () => {
    const u = await upstream(201);
    const gw = await gateway({
      services: { a: { targets: [u.url] } },
      routes: [{ prefix: '/ui', service: 'a', auth: 'public' }],
    });
    expect((await fetch(`${gw.url}/ui/state.json`)).status).toBe(201);
  });

  it('names a target whose breaker opened, with when it will be tried again', async () => {
    const live = await upstream();
    const dead = await deadUrl();
    const gw = await gateway({
      services: {
        a: {
          targets: [dead, live.url],
          health: false,
          breaker: { failures: 1, cooldown: '60s' },
          outlier: { failures: 100 },
        },
      },
      routes: [{ prefix: '/a', service: 'a', auth: 'public' }],
    });
    expect(await hit(`${gw.url}/a/x`, 6)).toEqual([200, 200, 200, 200, 200, 200]);
    const svc = (await state(gw)).services[0]!;
    const t = svc.targets.find((x) => x.id === origin(dead))!;
    expect(t).toMatchObject({ status: 'down', reason: 'breaker open', breaker: 'open', errors: 1 });
    expect(Date.parse(String(t.until)) - Date.now()).toBeGreaterThan(30_000);
    expect(Date.parse(String(t.since))).toBeLessThanOrEqual(Date.now());
    expect(svc.targets.find((x) => x.id === origin(live.url))).toMatchObject({
      status: 'up',
      reason: null,
      requests: 6,
      errors: 0,
    });
    expect(svc.up).toBe(true);
  });

  it('names a target passive outlier detection ejected, and counts its errors', async () => {
    const good = await upstream();
    const bad = await upstream(500);
    const gw = await gateway({
      services: {
        a: {
          targets: [bad.url, good.url],
          health: false,
          outlier: { failures: 1, ejection: '60s' },
          balancer: 'round-robin',
        },
      },
      routes: [{ prefix: '/a', service: 'a', auth: 'public' }],
    });
    const statuses = await hit(`${gw.url}/a/x`, 4);
    expect(statuses.filter((s) => s === 500)).toHaveLength(1);
    const t = (await state(gw)).services[0]!.targets.find((x) => x.id === origin(bad.url))!;
    expect(t).toMatchObject({ status: 'down', reason: 'passively ejected', requests: 1, errors: 1 });
    expect(t.p50Ms).not.toBeNull();
    expect(Date.parse(String(t.until))).toBeGreaterThan(Date.now());
  });

  it('keeps a target discovery removed in view for a while, and forgets it when it comes back', async () => {
    const [a, b] = [await upstream(), await upstream()];
    let push: (targets: Target[]) => void = () => {};
    const discovery: Discovery = {
      name: 'consul',
      watch(_service, onTargets) {
        push = onTargets;
        onTargets([targetFromUrl(a.url), targetFromUrl(b.url)]);
        return () => {};
      },
    };
    const gw = await gateway({ services: { a: { discovery: 'consul', health: false } }, routes: [] }, [
      { name: 'test-discovery', discovery },
    ]);
    push([targetFromUrl(a.url)]);
    let targets = (await state(gw)).services[0]!.targets;
    expect(targets.map((t) => [t.id, t.status, t.reason])).toEqual([
      [origin(a.url), 'up', null],
      [origin(b.url), 'removed', 'removed by discovery'],
    ]);
    push([targetFromUrl(a.url), targetFromUrl(b.url)]);
    targets = (await state(gw)).services[0]!.targets;
    expect(targets.map((t) => t.status)).toEqual(['up', 'up']);
  });

  it('shows the last check and its latency once a check ran, and no check before', async () => {
    const u = await upstream();
    const gw = await gateway({
      services: {
        checked: { targets: [u.url], health: { path: '/health', interval: '1h' } },
        unchecked: { targets: [u.url], health: false },
      },
    });
    const [checked, unchecked] = (await state(gw)).services;
    // The first round starts with the gateway; wait for its answer through the state itself.
    let check = checked!.targets[0]!.lastCheck as { ok: boolean; latencyMs: number } | null;
    for (let i = 0; check === null && i < 200; i++) {
      await new Promise((r) => setImmediate(r));
      check = (await state(gw)).services[0]!.targets[0]!.lastCheck as typeof check;
    }
    expect(check).toMatchObject({ ok: true });
    expect(check!.latencyMs).toBeGreaterThanOrEqual(0);
    expect(unchecked!.targets[0]!.lastCheck).toBeNull();
  });

  it('moves per-route rates from the gateway’s own metrics, errors apart, with the plugins’ columns', async () => {
    const [ok, failing] = [await upstream(), await upstream(503)];
    // A plugin shows what it does on each route as a column of its own.
    const quota: GatewayPlugin = {
      name: 'quota',
      schema: { name: 'quota', route: { quota: z.record(z.string(), z.string()).optional() } },
      dashboardRoute: (route) => ({
        quota: { label: 'quota', value: (route.config.quota as Record<string, string>) ?? 'none' },
      }),
    };
    const gw = await gateway(
      {
        services: {
          ok: { targets: [ok.url] },
          failing: { targets: [failing.url], outlier: { failures: 1000 } },
        },
        routes: [
          { prefix: '/ok', service: 'ok', auth: 'public', quota: { free: '5/day', gold: '100/day' } },
          { prefix: '/failing', service: 'failing', auth: 'public' },
        ],
      },
      [quota],
    );
    const before = (await state(gw)).routes;
    expect(before.map((r) => r.requestsPerSecond)).toEqual([null, null]);
    await hit(`${gw.url}/ok/x`, 10);
    await hit(`${gw.url}/failing/x`, 4);
    const after = (await state(gw)).routes;
    const [okRoute, failingRoute] = after;
    expect(okRoute).toMatchObject({
      prefix: '/ok',
      errorRate: 0,
      quota: { free: '5/day', gold: '100/day' },
    });
    expect(okRoute!.requestsPerSecond).toBeGreaterThan(0);
    expect(okRoute!.p50Ms).toBeGreaterThan(0);
    expect(failingRoute).toMatchObject({
      prefix: '/failing',
      errorRate: 1,
      clientErrorRate: 0,
      quota: 'none',
    });
    expect((await state(gw)).routeColumns).toEqual([{ key: 'quota', label: 'quota' }]);
  });

  it('serves readers that arrive together from one read (one round of component checks)', async () => {
    let checks = 0;
    let release: () => void = () => {};
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    const slow: GatewayPlugin = {
      name: 'slow-store',
      async health() {
        checks++;
        await gate;
        return { healthy: true };
      },
    };
    const gw = await gateway({ services: { a: { targets: [(await upstream()).url] } } }, [slow]);
    const inFlight = async () => {
      const text = await gw.gateway.registry.getSingleMetricAsString('lucid_gateway_http_requests_in_flight');
      return Number(text.trim().split(' ').at(-1));
    };
    const readers = Array.from({ length: 5 }, () => fetch(`${gw.url}/ui/state.json`));
    while ((await inFlight()) < 5) await new Promise((r) => setImmediate(r));
    release();
    const bodies = (await Promise.all(readers.map(async (r) => (await r).json()))) as Array<{
      components: Record<string, { healthy: boolean }>;
    }>;
    expect(checks).toBe(1);
    expect(bodies.every((b) => b.components['slow-store']?.healthy === true)).toBe(true);
    // The next reader after them gets a fresh read.
    await state(gw);
    expect(checks).toBe(2);
  });

  it('tells the config in force by its hash, and the last reload’s result without the config’s values', async () => {
    const u = await upstream();
    const base = {
      logging: QUIET,
      builtins: { ui: true },
      services: { a: { targets: [u.url] } },
      routes: [],
    };
    const gw = await gateway(base);
    const first = (await state(gw)).config;
    expect(first.configHash).toMatch(/^[0-9a-f]{16}$/);
    expect(first.lastReload).toBeNull();

    // The same config, keys in another order: the same hash.
    await gw.gateway.reload({
      routes: [],
      services: { a: { targets: [u.url] } },
      builtins: { ui: true },
      logging: QUIET,
    });
    const same = (await state(gw)).config;
    expect(same.configHash).toBe(first.configHash);
    expect(same.lastReload).toMatchObject({ ok: true, configHash: first.configHash });

    await gw.gateway.reload({ ...base, routes: [{ prefix: '/a', service: 'a' }] });
    const changed = (await state(gw)).config;
    expect(changed.configHash).not.toBe(first.configHash);

    const secret = 'hunter2-but-longer-than-thirty-two-bytes';
    await expect(
      // @ts-expect-error wrong on purpose (no issuer, no audience): refused at run time as well
      gw.gateway.reload({ ...base, auth: { jwt: { secret } }, routes: [{ prefix: '/a', service: 'nope' }] }),
    ).rejects.toThrow();
    const refused = (await state(gw)).config;
    expect(refused.configHash).toBe(changed.configHash);
    expect(refused.lastReload).toMatchObject({
      ok: false,
      error: 'invalid config at auth, routes[0].service',
    });
    expect(JSON.stringify(refused)).not.toContain(secret);

    gw.gateway.reloadFailed(new Error(`cannot read /etc/lucid/${secret}.yaml`));
    const unreadable = (await state(gw)).config;
    expect(unreadable.lastReload).toMatchObject({ ok: false, error: 'failed' });
    expect(JSON.stringify(unreadable)).not.toContain(secret);
  });
});
