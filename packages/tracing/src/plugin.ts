import {
  ConfigError,
  type GatewayContext,
  type GatewayPlugin,
  parseWith,
  type RequestTrace,
  type RequestTracer,
} from '@lucid/gateway-core';
import {
  endpointIssue,
  resolveEndpoint,
  type TracingConfig,
  type TracingConfigInput,
  tracingConfigSchema,
  tracingPluginSchema,
} from './config.js';
import { startPipeline, type TracePipeline } from './pipeline.js';

/** The `tracing` section checked, with errors named by their path (`tracing.sampleRatio`). */
export function parseTracingConfig(options: unknown): TracingConfig {
  try {
    return parseWith(tracingConfigSchema, options ?? {});
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    throw new ConfigError(err.issues.map((i) => ({ ...i, path: i.path ? `tracing.${i.path}` : 'tracing' })));
  }
}

export interface TracingPlugin extends GatewayPlugin {
  readonly tracer: RequestTracer;
  /** Exports the spans that have finished so far. */
  flush(): Promise<void>;
  /** After the drain: exports what has finished, then stops exporting. */
  close(): Promise<void>;
}

/**
 * Traces every request with OpenTelemetry and exports the spans over OTLP/HTTP: a server span per
 * request, a client span per upstream attempt (the upstream gets its `traceparent`), events for
 * refused credentials and rate limits. The OpenTelemetry packages load when the gateway is built
 * with this plugin, never before.
 *
 * @example
 * const gateway = createGateway(config, {
 *   plugins: [tracing({ endpoint: 'http://otel-collector:4318/v1/traces', sampleRatio: 0.1 })],
 * });
 */
export function tracing(
  options: TracingConfigInput = {},
  env: NodeJS.ProcessEnv = process.env,
): TracingPlugin {
  const config = parseTracingConfig(options);
  const issue = endpointIssue(config.endpoint, env);
  if (issue) throw new ConfigError([issue]);
  const endpoint = resolveEndpoint(config.endpoint, env)!.url;
  let pipeline: TracePipeline | undefined;
  const tracer: RequestTracer = {
    start: (ctx: GatewayContext): RequestTrace | undefined => pipeline?.tracer.start(ctx),
  };
  return {
    name: 'tracing',
    schema: tracingPluginSchema,
    tracer,
    setup(setup) {
      if (pipeline !== undefined) return;
      const serviceName = config.serviceName ?? env.OTEL_SERVICE_NAME ?? setup.config.name;
      pipeline = startPipeline({ config, endpoint, serviceName, setup });
    },
    flush: async () => pipeline?.flush(),
    async close() {
      await pipeline?.shutdown();
    },
  };
}
