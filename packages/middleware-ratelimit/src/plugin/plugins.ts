import type { GatewayPlugin } from '@lucid/gateway-core';
import type { RateLimitConfigInput } from '../config/schema.js';
import { preAuthLimit } from './pre-auth.js';
import { type RateLimitExtras, rateLimit } from './rate-limit.js';

/**
 * Everything a `rateLimit:` section asks for: the `rateLimit` plugin, preceded by `preAuthLimit`
 * when `preAuth` is set. The section is validated once.
 *
 * @example
 * createGateway(config, { plugins: [jwtAuth(config.auth), ...rateLimitPlugins(config.rateLimit)] });
 */
export function rateLimitPlugins(
  options: RateLimitConfigInput = {},
  extras: RateLimitExtras = {},
): GatewayPlugin[] {
  const main = rateLimit(options, extras);
  const { preAuth, maxKeys } = main.config;
  return preAuth ? [preAuthLimit({ rate: preAuth, maxKeys }), main] : [main];
}
