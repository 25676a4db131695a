import { readFileSync } from 'node:fs';
import { jwtAuth } from '@lucid/middleware-auth';
import { responseCache } from '@lucid/middleware-cache';
import { rateLimitPlugins } from '@lucid/middleware-ratelimit';
import {
  freePort,
  type OtlpReceiver,
  type RunningGateway,
  send,
  startGateway,
  startOtlpReceiver,
  startUpstream,
  type Upstream,
} from '@lucid/test-kit';
import { tracing } from '@lucid/tracing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';

const dashboard = JSON.parse(
  readFileSync(new URL('../../examples/grafana/lucid-gateway.json', import.meta.url), 'utf8'),
);

interface Panel {
  title: string;
  type: string;
  targets?: Array<{ expr: string }>;
  panels?: Panel[];
}
const panels = (dashboard.panels as Panel[]).flatMap((p) => [p, ...(p.panels ?? [])]);
const exprs = panels.flatMap((p) => (p.targets ?? []).map((t) => ({ panel: p.title, expr: t.expr })));

/** Every family in a Prometheus exposition, with the label names its series carry. */
function families(text: string): Map<string, { type: string; labels: Set<string> }> {
  const out = new Map<string, { type: string; labels: Set<string> }>();
  for (const line of text.split('\n')) {
    const type = /^# TYPE (\S+) (\S+)/.exec(line);
    if (type) out.set(type[1]!, { type: type[2]!, labels: new Set() });
  }
  for (const line of text.split('\n')) {
    const sample = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})? /.exec(line);
    if (!sample) continue;
    const family = out.get(sample[1]!) ?? out.get(sample[1]!.replace(/_(bucket|sum|count)$/, ''));
    for (const [, name] of (sample[2] ?? '').matchAll(/(\w+)="/g)) family?.labels.add(name!);
  }
  return out;
}

const baseOf = (metric: string) => metric.replace(/_(bucket|sum|count)$/, '');
// Labels Prometheus adds to every scraped series.
const SCRAPE_LABELS = new Set(['job', 'instance']);

describe('the Grafana dashboard (examples/grafana/lucid-gateway.json)', () => {
  let upstream: Upstream;
  let receiver: OtlpReceiver;
  let gw: RunningGateway;
  let exposition: string;

  beforeAll(async () => {
    upstream = await startUpstream();
    receiver = await startOtlpReceiver();
    const dead = `http://127.0.0.1:${await freePort()}`;
    const trace = tracing({ endpoint: receiver.url, sampleRatio: 1 }, {});
    // Every plugin that defines metrics the dashboard reads, and traffic that gives their series labels.
    gw = await startGateway(
      {
        services: {
          api: { targets: [upstream.url] },
          gone: { targets: [dead], health: false, retry: { attempts: 0 }, breaker: { failures: 1 } },
        },
        routes: [
          { prefix: '/api', service: 'api', auth: 'public' },
          { prefix: '/private', service: 'api' },
          { prefix: '/gone', service: 'gone', auth: 'public' },
          { prefix: '/cached', service: 'api', auth: 'public', cache: true },
        ],
      },
      [
        jwtAuth({
          jwt: {
            secret: 'a-secret-of-at-least-32-characters-long',
            algorithms: ['HS256'],
            issuer: 'lucid-auth',
            audience: 'lucid-api',
          },
        }),
        ...rateLimitPlugins({ keyBy: 'ip', tiers: { free: '3/min' }, defaultTier: 'free' }),
        trace,
        responseCache({}),
      ],
    );
    for (let i = 0; i < 3; i++) await send(`${gw.url}/api/x`);
    await send(`${gw.url}/api/x`); // 429
    await send(`${gw.url}/private/x`); // 401 (refused before the limiter, which runs after auth)
    await send(`${gw.url}/gone/x`); // unreachable: 503, a breaker opens
    await send(`${gw.url}/cached/x`); // a cache miss
    await trace.flush();
    exposition = await gw.gateway.registry.metrics();
  });

  afterAll(async () => {
    await gw?.close();
    await upstream?.close();
    await receiver?.close();
  });

  it('is a dashboard Grafana imports: a uid, a Prometheus datasource variable, panels with queries', () => {
    expect(dashboard.uid).toBe('lucid-gateway');
    expect(dashboard.templating.list.map((v: { name: string }) => v.name)).toEqual(['datasource', 'job']);
    expect(exprs.length).toBeGreaterThan(15);
    const titles = panels.map((p) => p.title).join(' | ');
    for (const topic of [
      /by route/,
      /Latency quantiles/,
      /Targets in rotation/,
      /by tier/,
      /breakers opened and targets ejected/i,
    ]) {
      expect(titles).toMatch(topic);
    }
    // No two panels overlap on the grid.
    const cells = new Set<string>();
    for (const p of dashboard.panels as Array<{ gridPos: { x: number; y: number; w: number; h: number } }>) {
      for (let x = p.gridPos.x; x < p.gridPos.x + p.gridPos.w; x++)
        for (let y = p.gridPos.y; y < p.gridPos.y + p.gridPos.h; y++) {
          expect(cells.has(`${x},${y}`)).toBe(false);
          cells.add(`${x},${y}`);
        }
    }
  });

  it('names only metrics a running gateway exposes at /metrics', () => {
    const known = families(exposition);
    const named = new Set(exprs.flatMap(({ expr }) => expr.match(/lucid_gateway_\w+/g) ?? []));
    expect(named.size).toBeGreaterThan(15);
    const missing = [...named].filter((m) => !known.has(m) && !(known.get(baseOf(m))?.type === 'histogram'));
    expect(missing).toEqual([]);
  });

  it('groups and filters by labels those metrics carry', () => {
    const known = families(exposition);
    const problems: string[] = [];
    let checked = 0;
    for (const { panel, expr } of exprs) {
      const metrics = expr.match(/lucid_gateway_\w+/g) ?? [];
      const carried = new Set([...SCRAPE_LABELS]);
      let withSeries = true;
      for (const m of metrics) {
        const family = known.get(m) ?? known.get(baseOf(m));
        if (!family || family.labels.size === 0) withSeries = false;
        for (const l of family?.labels ?? []) carried.add(l);
        if (m.endsWith('_bucket')) carried.add('le');
      }
      // A metric without a series yet (no gRPC call, no ejection) cannot show its labels: its panel is checked by name only.
      if (!withSeries) continue;
      const used = [
        ...[...expr.matchAll(/by \(([^)]*)\)/g)].flatMap((m) => m[1]!.split(',').map((s) => s.trim())),
        ...[...expr.matchAll(/(\w+)\s*(?:=~|!~|!=|=)\s*"/g)].map((m) => m[1]!),
      ];
      checked++;
      for (const label of used) if (!carried.has(label)) problems.push(`${panel}: ${label} in ${expr}`);
    }
    expect(problems).toEqual([]);
    // The traffic above gives series (and so labels) to the metrics of at least 13 queries.
    expect(checked).toBeGreaterThanOrEqual(13);
  });

  it('the Prometheus example scrapes /metrics on the admin port', () => {
    const prometheus = parse(
      readFileSync(new URL('../../examples/grafana/prometheus.yml', import.meta.url), 'utf8'),
    );
    const job = prometheus.scrape_configs[0];
    expect(job).toMatchObject({ job_name: 'lucid-gateway', metrics_path: '/metrics' });
    expect(job.static_configs[0].targets).toEqual(['lucid-gateway:9901']);
  });
});
