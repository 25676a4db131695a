import { Counter, collectDefaultMetrics, Gauge, Histogram, type Registry } from 'prom-client';

/** What the gateway records; every label value comes from config or a fixed set, never from a raw path. */
export interface GatewayMetrics {
  requestStarted(): void;
  requestFinished(routeId: string, method: string, status: number, seconds: number): void;
  upstreamFinished(service: string, seconds: number, outcome: UpstreamOutcome): void;
  targetHealth(service: string, target: string, healthy: boolean): void;
  /** Drops a target's series once discovery removed it, so gone targets do not linger in /metrics. */
  targetRemoved(service: string, target: string): void;
}

export type UpstreamOutcome = 'ok' | 'error' | 'timeout' | 'unavailable';

/** 1ms to 30s: fast cached answers to slow uploads. */
export const DURATION_BUCKETS = [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];

// Unknown methods share one label, so a client cannot mint series with made-up verbs.
const METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS', 'OTHER'] as const;
const CLASSES = ['1xx', '2xx', '3xx', '4xx', '5xx', 'other'] as const;
const OUTCOMES: readonly UpstreamOutcome[] = ['ok', 'error', 'timeout', 'unavailable'];

function methodIndex(method: string): number {
  switch (method) {
    case 'GET':
      return 0;
    case 'HEAD':
      return 1;
    case 'POST':
      return 2;
    case 'PUT':
      return 3;
    case 'PATCH':
      return 4;
    case 'DELETE':
      return 5;
    case 'OPTIONS':
      return 6;
    default:
      return 7;
  }
}

function classIndex(status: number): number {
  return status >= 100 && status < 600 ? Math.floor(status / 100) - 1 : 5;
}

interface RequestSeries {
  total: Counter.Internal;
  duration: Histogram.Internal<string>;
}

interface UpstreamSeries {
  duration: Histogram.Internal<string>;
  errors: Counter.Internal;
}

/** Registers a metric once per registry; a rebuilt gateway (reload) reuses what is already there. */
function once<M>(registry: Registry, name: string, make: () => M): M {
  return (registry.getSingleMetric(name) as M | undefined) ?? make();
}

/**
 * Registers the gateway's metrics (and the default process metrics) on `registry`.
 * Labelled series are created on first use and kept, so a finished request only indexes an array.
 *
 * @example
 * const metrics = createMetrics(registry, 'lucid_gateway_');
 * metrics.requestStarted();
 * metrics.requestFinished('/auth', 'GET', 200, 0.012);
 */
export function createMetrics(registry: Registry, prefix: string): GatewayMetrics {
  const register = [registry];
  const requestLabels = ['route', 'method', 'status_class'];
  const requests = once(
    registry,
    `${prefix}http_requests_total`,
    () =>
      new Counter({
        name: `${prefix}http_requests_total`,
        help: 'Requests answered, by route (its configured id), method and status class.',
        labelNames: requestLabels,
        registers: register,
      }),
  );
  const requestDuration = once(
    registry,
    `${prefix}http_request_duration_seconds`,
    () =>
      new Histogram({
        name: `${prefix}http_request_duration_seconds`,
        help: 'Time from receiving a request to finishing its answer, in seconds.',
        labelNames: requestLabels,
        buckets: DURATION_BUCKETS,
        registers: register,
      }),
  );
  const inFlight = once(
    registry,
    `${prefix}http_requests_in_flight`,
    () =>
      new Gauge({
        name: `${prefix}http_requests_in_flight`,
        help: 'Requests received and not yet answered.',
        registers: register,
      }),
  );
  const upstreamDuration = once(
    registry,
    `${prefix}upstream_duration_seconds`,
    () =>
      new Histogram({
        name: `${prefix}upstream_duration_seconds`,
        help: 'Time an upstream took to answer (or fail), in seconds, by service and outcome.',
        labelNames: ['service', 'outcome'],
        buckets: DURATION_BUCKETS,
        registers: register,
      }),
  );
  const upstreamErrors = once(
    registry,
    `${prefix}upstream_errors_total`,
    () =>
      new Counter({
        name: `${prefix}upstream_errors_total`,
        help: 'Upstream requests that failed, by service and outcome (error, timeout, unavailable).',
        labelNames: ['service', 'outcome'],
        registers: register,
      }),
  );
  const targetHealthy = once(
    registry,
    `${prefix}upstream_target_healthy`,
    () =>
      new Gauge({
        name: `${prefix}upstream_target_healthy`,
        help: 'Whether an upstream target is in rotation (1: passes its checks, not ejected, breaker closed) or not (0).',
        labelNames: ['service', 'target'],
        registers: register,
      }),
  );
  if (!registry.getSingleMetric(`${prefix}process_cpu_seconds_total`)) {
    collectDefaultMetrics({ register: registry, prefix });
  }

  // route id -> series indexed by method * CLASSES.length + class.
  const requestSeries = new Map<string, RequestSeries[]>();
  const upstreamSeries = new Map<string, UpstreamSeries[]>();

  function requestSeriesFor(routeId: string, m: number, c: number): RequestSeries {
    let row = requestSeries.get(routeId);
    if (!row) {
      row = [];
      requestSeries.set(routeId, row);
    }
    const i = m * CLASSES.length + c;
    let series = row[i];
    if (!series) {
      const labels = [routeId, METHODS[m]!, CLASSES[c]!];
      series = { total: requests.labels(...labels), duration: requestDuration.labels(...labels) };
      row[i] = series;
    }
    return series;
  }

  function upstreamSeriesFor(service: string, outcome: UpstreamOutcome): UpstreamSeries {
    let row = upstreamSeries.get(service);
    if (!row) {
      row = OUTCOMES.map((o) => ({
        duration: upstreamDuration.labels(service, o),
        errors: upstreamErrors.labels(service, o),
      }));
      upstreamSeries.set(service, row);
    }
    return row[OUTCOMES.indexOf(outcome)]!;
  }

  return {
    requestStarted() {
      inFlight.inc();
    },
    requestFinished(routeId, method, status, seconds) {
      inFlight.dec();
      const series = requestSeriesFor(routeId, methodIndex(method), classIndex(status));
      series.total.inc();
      series.duration.observe(seconds);
    },
    upstreamFinished(service, seconds, outcome) {
      const series = upstreamSeriesFor(service, outcome);
      series.duration.observe(seconds);
      if (outcome !== 'ok') series.errors.inc();
    },
    targetHealth(service, target, healthy) {
      targetHealthy.labels(service, target).set(healthy ? 1 : 0);
    },
    targetRemoved(service, target) {
      targetHealthy.remove(service, target);
    },
  };
}
