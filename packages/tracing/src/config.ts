import { type ConfigIssue, duration, type PluginSchema } from '@lucid/gateway-core';
import { z } from 'zod';

// RFC 9110 §5.6.2 token; a value may hold anything visible, never a line break (header injection).
const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;
const HEADER_VALUE = /^[\t\x20-\x7e\x80-\xff]*$/;

/** An OTLP/HTTP endpoint: http(s) with a host, no credentials in it (they go in `headers`). */
export function otlpUrlProblem(value: string): string | undefined {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return `"${value}" is not a URL (write it like "http://otel-collector:4318/v1/traces")`;
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:')
    return `"${url.protocol}" is not http: or https:`;
  if (url.hostname === '') return 'the URL names no host';
  if (url.username !== '' || url.password !== '') {
    return 'credentials in the URL would be logged with it: put them in tracing.headers';
  }
  return undefined;
}

const otlpUrl = z.string().superRefine((v, ctx) => {
  const problem = otlpUrlProblem(v);
  if (problem !== undefined) ctx.addIssue({ code: 'custom', message: problem });
});

/**
 * The `tracing:` section: present, the gateway traces requests and exports their spans over OTLP/HTTP.
 *
 * @example
 * tracingConfigSchema.parse({ endpoint: 'http://otel-collector:4318/v1/traces', sampleRatio: 0.1 })
 */
export const tracingConfigSchema = z.strictObject({
  /** The collector's OTLP/HTTP traces URL; else `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`, else `OTEL_EXPORTER_OTLP_ENDPOINT` + `/v1/traces`. */
  endpoint: otlpUrl.optional(),
  /** Share of new traces recorded (0 to 1). A request whose `traceparent` is sampled is always recorded. */
  sampleRatio: z.number().min(0).max(1).default(1),
  /** `service.name` of the spans; else `OTEL_SERVICE_NAME`, else the gateway's `name`. */
  serviceName: z.string().min(1).max(256).optional(),
  /** Headers sent with every export (a collector's token); values may use `${VAR}`. */
  headers: z
    .record(
      z.string().regex(HEADER_NAME, { message: "a header name is letters, digits and !#$%&'*+.^_`|~-" }),
      z.string().regex(HEADER_VALUE, { message: 'a header value holds no line break or control character' }),
    )
    .default({}),
  /** Most finished spans waiting for export; past it new spans are dropped and counted, never waited for. */
  queueSize: z.number().int().min(1).max(1_000_000).default(2048),
  /** Longest wait for one export, retries included. */
  timeout: duration.default(10_000),
});

export type TracingConfigInput = z.input<typeof tracingConfigSchema>;
export type TracingConfig = z.output<typeof tracingConfigSchema>;

/** Where spans go: the configured endpoint, else the standard OpenTelemetry variables. */
export function resolveEndpoint(
  configured: string | undefined,
  env: NodeJS.ProcessEnv = process.env,
): { url: string; from: string } | undefined {
  if (configured !== undefined) return { url: configured, from: 'tracing.endpoint' };
  const traces = env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT;
  if (traces) return { url: traces, from: 'OTEL_EXPORTER_OTLP_TRACES_ENDPOINT' };
  const base = env.OTEL_EXPORTER_OTLP_ENDPOINT;
  // The base URL gets the signal's path, as every OpenTelemetry SDK does.
  if (base) return { url: `${base.replace(/\/+$/, '')}/v1/traces`, from: 'OTEL_EXPORTER_OTLP_ENDPOINT' };
  return undefined;
}

/** The endpoint's problem, as a config issue at `tracing.endpoint`. */
export function endpointIssue(
  configured: string | undefined,
  env?: NodeJS.ProcessEnv,
): ConfigIssue | undefined {
  const endpoint = resolveEndpoint(configured, env);
  if (endpoint === undefined) {
    return {
      path: 'tracing.endpoint',
      message: 'no collector to send spans to',
      fix: 'set tracing.endpoint (e.g. http://otel-collector:4318/v1/traces) or OTEL_EXPORTER_OTLP_ENDPOINT',
    };
  }
  const problem = endpoint.from === 'tracing.endpoint' ? undefined : otlpUrlProblem(endpoint.url);
  return problem === undefined
    ? undefined
    : { path: 'tracing.endpoint', message: `${endpoint.from}: ${problem}` };
}

const isObj = (v: unknown): v is Record<string, unknown> =>
  v !== null && typeof v === 'object' && !Array.isArray(v);

/**
 * What tracing adds to the config: the `tracing` section, and a check that spans have somewhere to go.
 *
 * @example composeConfigSchema([tracingPluginSchema])
 */
export const tracingPluginSchema: PluginSchema = {
  name: 'tracing',
  sections: { tracing: tracingConfigSchema },
  check({ config, invalidSections }) {
    const section = (config as { tracing?: unknown }).tracing;
    if (invalidSections.has('tracing') || !isObj(section)) return [];
    const issue = endpointIssue(section.endpoint as string | undefined);
    return issue ? [issue] : [];
  },
};
