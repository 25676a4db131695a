import { parseWith } from './errors.js';
import { type GatewayConfig, gatewayConfigSchema } from './schema.js';

export * from './errors.js';
export * from './schema.js';
export { didYouMean } from './suggest.js';
export * from './units.js';

/** Validates a config and fills its defaults; throws a `ConfigError` naming each problem. */
export function parseConfig(input: unknown): GatewayConfig {
  return parseWith(gatewayConfigSchema, input ?? {});
}
