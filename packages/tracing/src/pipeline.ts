import { counterOn, Gauge, type PluginSetup, VERSION } from '@lucid/gateway-core';
import type { MeterProvider, ObservableCallback, ObservableResult } from '@opentelemetry/api';
import type { ReadableSpan, SpanExporter } from '@opentelemetry/sdk-trace';
import type { TracingConfig } from './config.js';
import { loadOtel, type OtelModules } from './otel.js';
import { OtelRequestTracer } from './request-trace.js';

// The batch processor's own metrics (OpenTelemetry semantic conventions), read into Prometheus.
const PROCESSED = 'otel.sdk.processor.span.processed';
const QUEUE_SIZE = 'otel.sdk.processor.span.queue.size';
// ExportResultCode.SUCCESS of @opentelemetry/core.
const EXPORT_SUCCESS = 0;

export interface PipelineOptions {
  config: TracingConfig;
  endpoint: string;
  serviceName: string;
  setup: PluginSetup;
}

/** The tracer the gateway calls, and the export behind it. */
export interface TracePipeline {
  tracer: OtelRequestTracer;
  /** Exports what has finished so far. */
  flush(): Promise<void>;
  /** Exports what has finished, then stops: spans ended later are dropped. */
  shutdown(): Promise<void>;
}

/**
 * Spans batched off the request path and exported over OTLP/HTTP: the queue holds at most
 * `queueSize` finished spans, past it new ones are dropped and counted (never waited for); a
 * collector that fails costs the batch in hand and a counter, and a warning when it starts failing.
 */
export function startPipeline(opts: PipelineOptions): TracePipeline {
  const otel = loadOtel();
  const { api, sdk, otlp, resources } = otel;
  const { config, setup } = opts;
  const { registry, metricPrefix, logger } = setup;

  const exported = counterOn(
    registry,
    `${metricPrefix}tracing_spans_exported_total`,
    'Spans the trace collector accepted',
  ).labels();
  const dropped = counterOn(
    registry,
    `${metricPrefix}tracing_spans_dropped_total`,
    'Spans not exported: the queue was full, or the collector failed or did not answer',
    ['reason'],
  );
  const queueFull = dropped.labels('queue_full');
  const exportFailed = dropped.labels('export_failed');
  const queue = new QueueGauge(`${metricPrefix}tracing_queue_spans`, 'Finished spans waiting for export');
  if (registry.getSingleMetric(queue.name)) registry.removeSingleMetric(queue.name);
  registry.registerMetric(queue as never);

  const exporter = new CountingExporter(
    new otlp.OTLPTraceExporter({
      url: opts.endpoint,
      headers: config.headers,
      timeoutMillis: config.timeout,
    }),
    {
      exported: (n) => exported.inc(n),
      failed: (n, reason) => {
        exportFailed.inc(n);
        if (reason !== undefined) {
          logger.warn(
            { reason, endpoint: new URL(opts.endpoint).origin },
            'trace export failed; spans are dropped until the collector answers',
          );
        }
      },
      recovered: () => logger.info('trace export recovered'),
    },
  );
  const processor = new sdk.BatchSpanProcessor({
    exporter,
    maxQueueSize: config.queueSize,
    maxExportBatchSize: Math.min(512, config.queueSize),
    exportTimeoutMillis: config.timeout,
    selfObsMeterProvider: meterBridge(otel, (n) => queueFull.inc(n), queue),
  });
  const provider = new sdk.TracerProvider({
    resource: resources.resourceFromAttributes({
      'service.name': opts.serviceName,
      'service.version': VERSION,
    }),
    sampler: new sdk.ParentBasedSampler({ root: new sdk.TraceIdRatioBasedSampler(config.sampleRatio) }),
    spanProcessors: [processor],
    // A client chooses the path (up to the header limit): what one span may hold is capped.
    spanLimits: { attributeValueLengthLimit: 1024, attributeCountLimit: 64, eventCountLimit: 32 },
  });
  const tracer = new OtelRequestTracer(provider.getTracer('@lucid/tracing', VERSION), api);
  let down: Promise<void> | undefined;
  return {
    tracer,
    flush: () => provider.forceFlush().catch(() => {}),
    shutdown() {
      down ??= provider.shutdown().catch(() => {});
      return down;
    },
  };
}

/** `<prefix>tracing_queue_spans`, read from the batch processor when scraped. */
class QueueGauge extends Gauge {
  readonly callbacks = new Set<ObservableCallback>();
  readonly #series = this.labels();

  override get() {
    let size = 0;
    const result = { observe: (v: number) => (size = v) } as ObservableResult;
    for (const callback of this.callbacks) void callback(result);
    this.#series.set(size);
    return super.get();
  }
}

/**
 * A meter that hears two of the batch processor's own instruments (dropped spans, queue size) and
 * ignores the rest: the SDK's documented self-observability, without an OpenTelemetry metrics SDK.
 */
function meterBridge(otel: OtelModules, onQueueFull: (n: number) => void, queue: QueueGauge): MeterProvider {
  const noop = otel.api.createNoopMeter();
  const meter = Object.create(noop) as typeof noop;
  meter.createCounter = (name, options) => {
    if (name !== PROCESSED) return noop.createCounter(name, options);
    return {
      add(value, attributes) {
        if (attributes?.['error.type'] === 'queue_full') onQueueFull(value);
      },
    };
  };
  meter.createObservableUpDownCounter = (name, options) => {
    if (name !== QUEUE_SIZE) return noop.createObservableUpDownCounter(name, options);
    return {
      addCallback: (callback: ObservableCallback) => void queue.callbacks.add(callback),
      removeCallback: (callback: ObservableCallback) => void queue.callbacks.delete(callback),
    };
  };
  return { getMeter: () => meter };
}

interface ExportCounts {
  exported(n: number): void;
  /** `reason` only when exports start failing (so a down collector logs once, not per batch). */
  failed(n: number, reason: string | undefined): void;
  recovered(): void;
}

/** The OTLP exporter, with each batch's fate counted. */
class CountingExporter implements SpanExporter {
  #failing = false;

  constructor(
    private readonly inner: SpanExporter,
    private readonly counts: ExportCounts,
  ) {}

  export(spans: ReadableSpan[], done: Parameters<SpanExporter['export']>[1]): void {
    this.inner.export(spans, (result) => {
      if (result.code === EXPORT_SUCCESS) {
        this.counts.exported(spans.length);
        if (this.#failing) {
          this.#failing = false;
          this.counts.recovered();
        }
      } else {
        const reason = this.#failing ? undefined : String(result.error?.message ?? 'export failed');
        this.#failing = true;
        this.counts.failed(spans.length, reason);
      }
      done(result);
    });
  }

  shutdown(): Promise<void> {
    return this.inner.shutdown();
  }

  forceFlush(): Promise<void> {
    return this.inner.forceFlush?.() ?? Promise.resolve();
  }
}
