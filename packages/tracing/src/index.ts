export {
  otlpUrlProblem,
  resolveEndpoint,
  type TracingConfig,
  type TracingConfigInput,
  tracingConfigSchema,
  tracingPluginSchema,
} from './config.js';
export { parseTracingConfig, type TracingPlugin, tracing } from './plugin.js';
