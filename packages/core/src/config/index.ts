import { parseWith } from './errors.js';
import { type GatewayConfig, gatewayConfigSchema } from './schema.js';

export * from './errors.js';
export * from './schema.js';
export * from './units.js';
export { didYouMean } from './suggest.js';

/** Validates a config and fills its defaults; throws a `ConfigError` naming each problem. */
export function parseConfig(input: unknown): GatewayConfig {
  return parseWith(gatewayConfigSchema, input ?? {});
}
