import type { Registry } from 'prom-client';

/**
 * Counters, gauges and histograms for the gateway's registry whose labelled series are bound once
 * and then updated by plain arithmetic: prom-client's own classes hash the label object on every
 * `inc`/`observe`, which shows on the per-request path. They speak prom-client's metric protocol
 * (`get()`, `reset()`), so `/metrics` renders them like any other, and plugins use them through
 * core without a prom-client of their own.
 *
 * @example
 * const failures = counterOn(registry, 'lucid_gateway_auth_failures_total', 'Refused tokens', ['reason']);
 * const expired = failures.labels('expired'); // bind once
 * expired.inc();                              // per event: one addition
 */

type Labels = Record<string, string>;
type Metric = Parameters<Registry['registerMetric']>[0];
type Kind = 'counter' | 'gauge' | 'histogram';

export interface CounterSeries {
  inc(by?: number): void;
  readonly value: number;
}

export interface GaugeSeries {
  set(value: number): void;
  inc(by?: number): void;
  dec(by?: number): void;
  readonly value: number;
}

export interface HistogramSeries {
  observe(value: number): void;
}

interface Value {
  labels: Labels;
  value: number;
  metricName?: string;
}

abstract class Family<S> {
  readonly aggregator: 'sum' | 'max' = 'sum';
  readonly #series = new Map<string, { labels: Labels; series: S }>();

  constructor(
    readonly name: string,
    readonly help: string,
    readonly type: Kind,
    readonly labelNames: readonly string[],
  ) {}

  /** The series for these label values (in `labelNames` order); keep it, updating it is then free. */
  labels(...values: string[]): S {
    const key = values.join('\u0000');
    let entry = this.#series.get(key);
    if (entry === undefined) {
      const labels: Labels = {};
      this.labelNames.forEach((n, i) => {
        labels[n] = values[i] ?? '';
      });
      entry = { labels, series: this.create() };
      this.#series.set(key, entry);
    }
    return entry.series;
  }

  /** Drops a series (e.g. a target discovery removed), so it leaves the exposition. */
  remove(...values: string[]): void {
    this.#series.delete(values.join('\u0000'));
  }

  protected abstract create(): S;
  protected abstract values(labels: Labels, series: S): Value[];

  async get(): Promise<{ name: string; help: string; type: Kind; aggregator: string; values: Value[] }> {
    const values: Value[] = [];
    for (const { labels, series } of this.#series.values()) values.push(...this.values(labels, series));
    return { name: this.name, help: this.help, type: this.type, aggregator: this.aggregator, values };
  }

  reset(): void {
    this.#series.clear();
  }
}

class Count implements CounterSeries, GaugeSeries {
  value = 0;
  inc(by = 1): void {
    this.value += by;
  }
  dec(by = 1): void {
    this.value -= by;
  }
  set(value: number): void {
    this.value = value;
  }
}

export class Counter extends Family<CounterSeries> {
  constructor(name: string, help: string, labelNames: readonly string[] = []) {
    super(name, help, 'counter', labelNames);
  }
  protected create(): CounterSeries {
    return new Count();
  }
  protected values(labels: Labels, s: CounterSeries): Value[] {
    return [{ labels, value: s.value }];
  }
}

export class Gauge extends Family<GaugeSeries> {
  constructor(name: string, help: string, labelNames: readonly string[] = []) {
    super(name, help, 'gauge', labelNames);
  }
  protected create(): GaugeSeries {
    return new Count();
  }
  protected values(labels: Labels, s: GaugeSeries): Value[] {
    return [{ labels, value: s.value }];
  }
}

class Buckets implements HistogramSeries {
  readonly counts: Float64Array;
  sum = 0;
  count = 0;
  constructor(private readonly bounds: readonly number[]) {
    this.counts = new Float64Array(bounds.length);
  }
  observe(value: number): void {
    this.sum += value;
    this.count++;
    const bounds = this.bounds;
    for (let i = 0; i < bounds.length; i++) {
      if (value <= bounds[i]!) {
        this.counts[i]!++;
        return;
      }
    }
  }
}

export class Histogram extends Family<HistogramSeries> {
  constructor(
    name: string,
    help: string,
    labelNames: readonly string[],
    readonly buckets: readonly number[],
  ) {
    super(name, help, 'histogram', labelNames);
  }
  protected create(): HistogramSeries {
    return new Buckets(this.buckets);
  }
  protected values(labels: Labels, s: HistogramSeries): Value[] {
    const b = s as Buckets;
    const out: Value[] = [];
    let cumulative = 0;
    this.buckets.forEach((le, i) => {
      cumulative += b.counts[i]!;
      out.push({
        labels: { le: String(le), ...labels },
        value: cumulative,
        metricName: `${this.name}_bucket`,
      });
    });
    out.push({ labels: { le: '+Inf', ...labels }, value: b.count, metricName: `${this.name}_bucket` });
    out.push({ labels, value: b.sum, metricName: `${this.name}_sum` });
    out.push({ labels, value: b.count, metricName: `${this.name}_count` });
    return out;
  }
}

/** Registers `metric` unless one of that name and kind is there already (a rebuilt gateway, two plugins), which is returned. */
function on<F extends Family<unknown>>(registry: Registry, metric: F): F {
  const existing = registry.getSingleMetric(metric.name) as unknown;
  if (existing instanceof Family && existing.type === metric.type) return existing as F;
  registry.registerMetric(metric as unknown as Metric);
  return metric;
}

export function counterOn(
  registry: Registry,
  name: string,
  help: string,
  labelNames: readonly string[] = [],
): Counter {
  return on(registry, new Counter(name, help, labelNames));
}

export function gaugeOn(
  registry: Registry,
  name: string,
  help: string,
  labelNames: readonly string[] = [],
): Gauge {
  return on(registry, new Gauge(name, help, labelNames));
}

export function histogramOn(
  registry: Registry,
  name: string,
  help: string,
  labelNames: readonly string[],
  buckets: readonly number[],
): Histogram {
  return on(registry, new Histogram(name, help, labelNames, buckets));
}
