import { createRequire } from 'node:module';
import type * as Api from '@opentelemetry/api';
import type * as Otlp from '@opentelemetry/exporter-trace-otlp-http';
import type * as Resources from '@opentelemetry/resources';
import type * as Sdk from '@opentelemetry/sdk-trace';

export interface OtelModules {
  api: typeof Api;
  sdk: typeof Sdk;
  otlp: typeof Otlp;
  resources: typeof Resources;
}

const requireHere = createRequire(import.meta.url);
let loaded: OtelModules | undefined;

/**
 * The OpenTelemetry packages, loaded with the first tracer rather than with this package: importing
 * it for its schema (as the CLI does to read any config) costs none of them.
 */
export function loadOtel(): OtelModules {
  loaded ??= {
    api: requireHere('@opentelemetry/api') as typeof Api,
    sdk: requireHere('@opentelemetry/sdk-trace') as typeof Sdk,
    otlp: requireHere('@opentelemetry/exporter-trace-otlp-http') as typeof Otlp,
    resources: requireHere('@opentelemetry/resources') as typeof Resources,
  };
  return loaded;
}
