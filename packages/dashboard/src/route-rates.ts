import {
  DURATION_BUCKETS,
  type GatewayView,
  quantile,
  REQUEST_DURATION,
  REQUESTS_TOTAL,
} from '@lucid/gateway-core';

type Registry = GatewayView['registry'];

/** Rates are computed over this much history (or what there is of it). */
export const RATE_WINDOW_MS = 60_000;
/** Samples closer together than this are not kept: many open pages cost no more than one. */
const MIN_SPACING_MS = 1_000;
const MAX_SAMPLES = Math.ceil(RATE_WINDOW_MS / MIN_SPACING_MS) + 2;
const WIDTH = DURATION_BUCKETS.length + 1;

/** Cumulative totals of one route, as /metrics holds them. */
export interface Totals {
  requests: number;
  clientErrors: number;
  serverErrors: number;
  /** Per duration bucket (not cumulative), the last one above every bound. */
  buckets: number[];
}

interface Sample {
  at: number;
  routes: Map<string, Totals>;
}

export interface RouteRate {
  /** Requests per second over the window; null until there are two samples to compare. */
  requestsPerSecond: number | null;
  /** Share of answers with a 5xx status (0..1), null without traffic. */
  errorRate: number | null;
  /** Share of answers with a 4xx status (0..1), null without traffic. */
  clientErrorRate: number | null;
  p50Ms: number | null;
  p99Ms: number | null;
}

type Values = Array<{ labels: Record<string, string | number>; value: number; metricName?: string }>;

interface Readable {
  get(): Promise<{ values: Values }>;
}

/** Each route's cumulative totals, read from the request series /metrics exposes. */
export async function routeTotals(registry: Registry, prefix: string): Promise<Map<string, Totals>> {
  const out = new Map<string, Totals>();
  const at = (route: string) => {
    let t = out.get(route);
    if (!t) {
      t = { requests: 0, clientErrors: 0, serverErrors: 0, buckets: new Array<number>(WIDTH).fill(0) };
      out.set(route, t);
    }
    return t;
  };
  const requests = registry.getSingleMetric(`${prefix}${REQUESTS_TOTAL}`) as unknown as Readable | undefined;
  for (const v of (await requests?.get())?.values ?? []) {
    const t = at(String(v.labels.route));
    t.requests += v.value;
    if (v.labels.status_class === '4xx') t.clientErrors += v.value;
    if (v.labels.status_class === '5xx') t.serverErrors += v.value;
  }
  const duration = registry.getSingleMetric(`${prefix}${REQUEST_DURATION}`) as unknown as
    | Readable
    | undefined;
  // Buckets come cumulative per series (le ascending, then +Inf): undo that per series.
  let previous = 0;
  for (const v of (await duration?.get())?.values ?? []) {
    if (!v.metricName?.endsWith('_bucket')) continue;
    const le = String(v.labels.le);
    const i = le === '+Inf' ? DURATION_BUCKETS.length : DURATION_BUCKETS.indexOf(Number(le));
    if (i < 0) continue;
    if (i === 0) previous = 0;
    at(String(v.labels.route)).buckets[i]! += v.value - previous;
    previous = v.value;
  }
  return out;
}

/**
 * Per-route request rate, error rate and latency, read from the gateway's own request metrics
 * (the series /metrics exposes): totals are sampled when asked, at most once a second and for one
 * window back, and a rate is the difference between now and the oldest sample in the window.
 *
 * @example
 * const rates = routeRates(registry, 'lucid_gateway_');
 * const byRoute = await rates.read(Date.now()); // Map { '/auth' => { requestsPerSecond: 3.2, ... } }
 */
export function routeRates(registry: Registry, prefix: string) {
  const samples: Sample[] = [];

  return {
    async read(now: number): Promise<Map<string, RouteRate>> {
      const current: Sample = { at: now, routes: await routeTotals(registry, prefix) };
      while (samples.length > 0 && samples[0]!.at < now - RATE_WINDOW_MS) samples.shift();
      const base = samples[0];
      const last = samples[samples.length - 1];
      if (!last || now - last.at >= MIN_SPACING_MS) {
        samples.push(current);
        if (samples.length > MAX_SAMPLES) samples.shift();
      }
      const out = new Map<string, RouteRate>();
      const span = base && base !== current ? now - base.at : undefined;
      for (const [route, t] of current.routes) {
        out.set(route, rate(t, span === undefined ? undefined : base!.routes.get(route), span));
      }
      return out;
    },
  };
}

/** What happened between two cumulative totals; a counter reset (a smaller total) counts from zero. */
function rate(now: Totals, before: Totals | undefined, spanMs: number | undefined): RouteRate {
  const delta = (a: number, b: number | undefined) => (b === undefined || a < b ? a : a - b);
  const requests = delta(now.requests, before?.requests);
  const buckets = now.buckets.map((c, i) => delta(c, before?.buckets[i]));
  const p50 = quantile(buckets, DURATION_BUCKETS, 0.5);
  const p99 = quantile(buckets, DURATION_BUCKETS, 0.99);
  const share = (n: number, b: number | undefined) =>
    requests > 0 ? Math.round((delta(n, b) / requests) * 1000) / 1000 : null;
  return {
    requestsPerSecond:
      spanMs === undefined || spanMs <= 0 ? null : Math.round((requests / spanMs) * 1000 * 100) / 100,
    errorRate: share(now.serverErrors, before?.serverErrors),
    clientErrorRate: share(now.clientErrors, before?.clientErrors),
    p50Ms: p50 === undefined ? null : Math.round(p50 * 10_000) / 10,
    p99Ms: p99 === undefined ? null : Math.round(p99 * 10_000) / 10,
  };
}
