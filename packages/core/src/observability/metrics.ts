import { collectDefaultMetrics, Registry } from 'prom-client';
import {
  type CounterSeries,
  counterOn,
  type GaugeSeries,
  gaugeOn,
  type HistogramSeries,
  histogramOn,
} from './series.js';

/** What the gateway records; every label value comes from config or a fixed set, never from a raw path. */
export interface GatewayMetrics {
  requestStarted(): void;
  requestFinished(routeId: string, method: string, status: number, seconds: number): void;
  upstreamFinished(service: string, seconds: number, outcome: UpstreamOutcome): void;
  /** A gRPC call's status, by route; `code` is the status's name (`OK`, `UNAVAILABLE`), a fixed set. */
  grpcFinished(routeId: string, code: string): void;
  targetHealth(service: string, target: string, healthy: boolean): void;
  /** Drops a target's series once discovery removed it, so gone targets do not linger in /metrics. */
  targetRemoved(service: string, target: string): void;
  /** A target's circuit breaker opened, or outlier detection ejected it. */
  targetEvent(service: string, target: string, event: TargetEvent): void;
}

export type TargetEvent = 'breaker_opened' | 'ejected';

export type UpstreamOutcome = 'ok' | 'error' | 'timeout' | 'unavailable';

/** Metric names (after the prefix) that others read back: the dashboard's per-route rates. */
export const REQUESTS_TOTAL = 'http_requests_total';
export const REQUEST_DURATION = 'http_request_duration_seconds';

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
  total: CounterSeries;
  duration: HistogramSeries;
}

const NO_COUNT: CounterSeries = { inc() {}, value: 0 };

interface UpstreamSeries {
  duration: HistogramSeries;
  errors: CounterSeries;
}

/**
 * Registers the gateway's metrics (and the default process metrics) on `registry`.
 * Labelled series are bound on first use and kept, so a finished request only indexes an array
 * and adds numbers.
 *
 * @example
 * const metrics = createMetrics(registry, 'lucid_gateway_');
 * metrics.requestStarted();
 * metrics.requestFinished('/auth', 'GET', 200, 0.012);
 */
export function createMetrics(registry: Registry, prefix: string): GatewayMetrics {
  const requestLabels = ['route', 'method', 'status_class'];
  const requests = counterOn(
    registry,
    `${prefix}${REQUESTS_TOTAL}`,
    'Requests answered, by route (its configured id), method and status class.',
    requestLabels,
  );
  const requestDuration = histogramOn(
    registry,
    `${prefix}${REQUEST_DURATION}`,
    'Time from receiving a request to finishing its answer, in seconds.',
    requestLabels,
    DURATION_BUCKETS,
  );
  const inFlight: GaugeSeries = gaugeOn(
    registry,
    `${prefix}http_requests_in_flight`,
    'Requests received and not yet answered.',
  ).labels();
  const upstreamDuration = histogramOn(
    registry,
    `${prefix}upstream_duration_seconds`,
    'Time an upstream took to answer (or fail), in seconds, by service and outcome.',
    ['service', 'outcome'],
    DURATION_BUCKETS,
  );
  const upstreamErrors = counterOn(
    registry,
    `${prefix}upstream_errors_total`,
    'Upstream requests that failed, by service and outcome (error, timeout, unavailable).',
    ['service', 'outcome'],
  );
  const grpcResponses = counterOn(
    registry,
    `${prefix}grpc_responses_total`,
    "gRPC calls answered, by route and gRPC status name (the upstream's or the gateway's own).",
    ['route', 'code'],
  );
  const targetHealthy = gaugeOn(
    registry,
    `${prefix}upstream_target_healthy`,
    'Whether an upstream target is in rotation (1: passes its checks, not ejected, breaker closed) or not (0).',
    ['service', 'target'],
  );
  const breakerOpens = counterOn(
    registry,
    `${prefix}upstream_breaker_opens_total`,
    "Times a target's circuit breaker opened (consecutive connect failures or timeouts, or a failed probe).",
    ['service', 'target'],
  );
  const ejections = counterOn(
    registry,
    `${prefix}upstream_ejections_total`,
    'Times outlier detection took a target out of rotation (consecutive 5xx or failed connections).',
    ['service', 'target'],
  );
  if (!registry.getSingleMetric(`${prefix}process_cpu_seconds_total`)) {
    for (const metric of processMetrics(prefix)) registry.registerMetric(metric);
  }

  // route id -> series indexed by method * CLASSES.length + class.
  const requestSeries = new Map<string, RequestSeries[]>();
  const upstreamSeries = new Map<string, UpstreamSeries[]>();
  const grpcSeries = new Map<string, CounterSeries>();

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
      row = [];
      upstreamSeries.set(service, row);
    }
    const i = OUTCOMES.indexOf(outcome);
    let series = row[i];
    if (!series) {
      series = {
        duration: upstreamDuration.labels(service, outcome),
        // Bound on the first failure only: an "ok" outcome never counts as an error.
        errors: outcome === 'ok' ? NO_COUNT : upstreamErrors.labels(service, outcome),
      };
      row[i] = series;
    }
    return series;
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
    grpcFinished(routeId, code) {
      const key = `${routeId}\u0000${code}`;
      let series = grpcSeries.get(key);
      if (!series) {
        series = grpcResponses.labels(routeId, code);
        grpcSeries.set(key, series);
      }
      series.inc();
    },
    targetHealth(service, target, healthy) {
      targetHealthy.labels(service, target).set(healthy ? 1 : 0);
    },
    targetRemoved(service, target) {
      targetHealthy.remove(service, target);
      breakerOpens.remove(service, target);
      ejections.remove(service, target);
    },
    targetEvent(service, target, event) {
      (event === 'breaker_opened' ? breakerOpens : ejections).labels(service, target).inc();
    },
  };
}

/** The process's metrics (CPU, memory, GC, event loop), made once per prefix and shown by every gateway's registry. */
const processRegistries = new Map<string, Registry>();

/**
 * prom-client's default metrics start a GC observer and an event-loop monitor that nothing can
 * stop: made once per process, not once per gateway, so gateways made and closed by the thousand
 * leave nothing running.
 */
function processMetrics(prefix: string) {
  let shared = processRegistries.get(prefix);
  if (shared === undefined) {
    shared = new Registry();
    collectDefaultMetrics({ register: shared, prefix });
    processRegistries.set(prefix, shared);
  }
  return shared.getMetricsAsArray() as unknown as Array<Parameters<Registry['registerMetric']>[0]>;
}
