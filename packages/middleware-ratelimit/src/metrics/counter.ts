import type { PluginSetup } from '@lucid/gateway-core';

type Registry = PluginSetup['registry'];
type Metric = Parameters<Registry['registerMetric']>[0];

export interface CounterChild {
  inc(by?: number): void;
}

/**
 * A labelled Prometheus counter that registers on the gateway's own registry. Written against
 * the registry's metric contract (name, help, type, get) so this package needs no copy of
 * prom-client of its own; children are made once and kept, so counting is one addition.
 */
export class LabelledCounter {
  readonly name: string;
  readonly help: string;
  readonly type = 'counter';
  readonly aggregator = 'sum';
  readonly #labelNames: readonly string[];
  readonly #series = new Map<string, { labels: Record<string, string>; value: number }>();

  constructor(name: string, help: string, labelNames: readonly string[]) {
    this.name = name;
    this.help = help;
    this.#labelNames = labelNames;
  }

  /** The counter named `name` on `registry`, registering this one when there is none yet. */
  static on(
    registry: Registry | undefined,
    name: string,
    help: string,
    labelNames: readonly string[],
  ): LabelledCounter {
    const existing = registry?.getSingleMetric(name) as unknown;
    if (existing instanceof LabelledCounter) return existing;
    const counter = new LabelledCounter(name, help, labelNames);
    registry?.registerMetric(counter as unknown as Metric);
    return counter;
  }

  child(labels: Record<string, string>): CounterChild {
    const key = this.#labelNames.map((n) => labels[n] ?? '').join('\u0000');
    let series = this.#series.get(key);
    if (!series) {
      series = { labels: Object.fromEntries(this.#labelNames.map((n) => [n, labels[n] ?? ''])), value: 0 };
      this.#series.set(key, series);
    }
    const s = series;
    return {
      inc(by = 1) {
        s.value += by;
      },
    };
  }

  /** The value of one series (for tests and health detail). */
  value(labels: Record<string, string> = {}): number {
    let total = 0;
    for (const s of this.#series.values()) {
      if (Object.entries(labels).every(([k, v]) => s.labels[k] === v)) total += s.value;
    }
    return total;
  }

  async get() {
    return {
      name: this.name,
      help: this.help,
      type: this.type,
      aggregator: this.aggregator,
      values: [...this.#series.values()].map((s) => ({ value: s.value, labels: { ...s.labels } })),
    };
  }

  reset(): void {
    for (const s of this.#series.values()) s.value = 0;
  }
}
