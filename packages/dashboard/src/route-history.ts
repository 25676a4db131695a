import { performance } from 'node:perf_hooks';
import {
  DURATION_BUCKETS,
  type GatewayView,
  HISTORY_SLOTS,
  quantile,
  SLOT_MS,
  type UpstreamPool,
} from '@lucid/gateway-core';
import { routeTotals, type Totals } from './route-rates.js';

/**
 * One series per chart, slot by slot over the last fifteen minutes, oldest first; the last slot is
 * the one being filled (its rate over the seconds it has run). Null where there was no request.
 */
export interface HistorySeries {
  requestsPerSecond: number[];
  errorRate: Array<number | null>;
  p99Ms: Array<number | null>;
}

export interface HistoryView {
  /** Seconds per slot, and the epoch second the first slot starts at. */
  slotSeconds: number;
  start: number;
  routes: Record<string, HistorySeries>;
  /** By `service target`. */
  targets: Record<string, HistorySeries>;
}

const round = (v: number, digits: number) => Math.round(v * 10 ** digits) / 10 ** digits;

/** One slot's point from its counts: rate over `seconds`, share of 5xx, p99 (ms) or null. */
export function point(
  requests: number,
  errors: number,
  p99Ms: number | null,
  seconds: number,
): [number, number | null, number | null] {
  return [
    round(requests / seconds, 2),
    requests > 0 ? round(errors / requests, 3) : null,
    requests > 0 ? p99Ms : null,
  ];
}

type Registry = GatewayView['registry'];

/**
 * Per-route totals (the request series /metrics exposes) sampled at every 10-second boundary while
 * the dashboard is on: the last fifteen minutes of each route's rate, error rate and p99, at the
 * cost of one read of two metric families every 10 seconds and nothing on the request path.
 */
export class RouteHistory {
  /** Totals at the start of each slot, by slot epoch (`floor(ms / SLOT_MS)`), the last HISTORY_SLOTS + 1. */
  readonly #samples = new Map<number, Map<string, Totals>>();
  #timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly registry: Registry,
    private readonly prefix: string,
    private readonly now: () => number = Date.now,
  ) {}

  /** Samples now (counted from this slot on) and at every slot boundary after; the timer keeps no process alive. */
  start(): void {
    if (this.#timer !== undefined) return;
    void this.#sample();
    const tick = () => {
      void this.#sample();
      this.#timer = setTimeout(tick, SLOT_MS - (this.now() % SLOT_MS));
      this.#timer.unref();
    };
    this.#timer = setTimeout(tick, SLOT_MS - (this.now() % SLOT_MS));
    this.#timer.unref();
  }

  stop(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  async #sample(): Promise<void> {
    const at = this.now();
    const epoch = Math.round(at / SLOT_MS);
    // A sample taken just before its boundary (a timer early by a few ms) belongs to that boundary.
    const totals = await routeTotals(this.registry, this.prefix);
    if (!this.#samples.has(epoch)) this.#samples.set(epoch, totals);
    for (const e of this.#samples.keys()) if (e < epoch - HISTORY_SLOTS) this.#samples.delete(e);
  }

  /** The routes' series up to `now`, the slot being filled read from the totals of this moment. */
  async read(now = this.now()): Promise<{ start: number; routes: Record<string, HistorySeries> }> {
    const current = Math.floor(now / SLOT_MS);
    const first = current - HISTORY_SLOTS + 1;
    const live = await routeTotals(this.registry, this.prefix);
    const ids = new Set<string>(live.keys());
    const routes: Record<string, HistorySeries> = {};
    for (const id of ids) routes[id] = { requestsPerSecond: [], errorRate: [], p99Ms: [] };
    for (let e = first; e <= current; e++) {
      const from = this.#samples.get(e);
      const to = e === current ? live : this.#samples.get(e + 1);
      const seconds = e === current ? Math.max(1, (now - e * SLOT_MS) / 1000) : SLOT_MS / 1000;
      for (const id of ids) {
        const series = routes[id]!;
        const a = from?.get(id);
        const b = to?.get(id);
        let p: [number, number | null, number | null] = [0, null, null];
        if (from !== undefined && to !== undefined && b !== undefined) {
          const delta = (x: number, y: number | undefined) => (y === undefined || x < y ? x : x - y);
          const requests = delta(b.requests, a?.requests);
          const errors = delta(b.serverErrors, a?.serverErrors);
          const buckets = b.buckets.map((c, i) => delta(c, a?.buckets[i]));
          const p99 = quantile(buckets, DURATION_BUCKETS, 0.99);
          p = point(requests, errors, p99 === undefined ? null : round(p99 * 1000, 1), seconds);
        }
        series.requestsPerSecond.push(p[0]);
        series.errorRate.push(p[1]);
        series.p99Ms.push(p[2]);
      }
    }
    return { start: first * (SLOT_MS / 1000), routes };
  }
}

/** Each target's own window (kept by its pool as it proxies), as series keyed `service target`. */
export function targetHistory(pools: Iterable<UpstreamPool>): Record<string, HistorySeries> {
  // The windows run on the clock the proxy records with (monotonic), not on the wall clock.
  const now = performance.timeOrigin + performance.now();
  const partial = Math.max(1, (now % SLOT_MS) / 1000);
  const out: Record<string, HistorySeries> = {};
  for (const pool of pools) {
    for (const state of pool.states()) {
      const s = state.window.series(now);
      const series: HistorySeries = { requestsPerSecond: [], errorRate: [], p99Ms: [] };
      const last = s.requests.length - 1;
      s.requests.forEach((requests, i) => {
        const p = point(requests, s.errors[i]!, s.p99Ms[i] ?? null, i === last ? partial : SLOT_MS / 1000);
        series.requestsPerSecond.push(p[0]);
        series.errorRate.push(p[1]);
        series.p99Ms.push(p[2]);
      });
      out[`${pool.name} ${state.target.id}`] = series;
    }
  }
  return out;
}
