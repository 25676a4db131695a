import {
  GatewayError,
  type GatewayPlugin,
  type Middleware,
  PLUGIN_ORDER,
  type PluginSetup,
  parseWith,
  type Route,
  rate,
  registerErrors,
} from '@lucid/gateway-core';
import { z } from 'zod';
import { retryAfterSeconds } from '../headers/rate-headers.js';
import { ipKey } from '../keys/client-key.js';
import { MemoryStore } from '../stores/memory-store.js';
import { metricsOn } from './rate-limit.js';
import { RATE_LIMIT_ERRORS, rateLimitPluginSchema, routeRateLimitOf } from './schema.js';

export const preAuthOptionsSchema = z.strictObject({
  /** Per client ip (IPv6 by /64), e.g. `600/min`. */
  rate: z.union([
    rate,
    z.strictObject({ limit: z.number().int().min(1), windowMs: z.number().int().min(1) }),
  ]),
  maxKeys: z.number().int().min(100).default(100_000),
});

export type PreAuthOptionsInput = z.input<typeof preAuthOptionsSchema>;

/**
 * A cheap per-ip limit that runs before authentication (order 50), in process memory, so a flood
 * of garbage tokens is refused before any signature is checked. Set it well above what one
 * honest client needs: it only exists to bound the work an attacker can cause.
 *
 * @example
 * plugins: [preAuthLimit({ rate: '600/min' }), jwtAuth(config.auth), rateLimit(config.rateLimit)]
 */
export function preAuthLimit(options: PreAuthOptionsInput): GatewayPlugin {
  const cfg = parseWith(preAuthOptionsSchema, options);
  registerErrors(RATE_LIMIT_ERRORS);
  const policy = cfg.rate;
  const store = new MemoryStore({ maxKeys: cfg.maxKeys });
  let metrics = metricsOn(undefined, '');

  return {
    name: 'rate-limit-pre-auth',
    order: PLUGIN_ORDER.beforeAuthentication,
    // A route's `rateLimit: false` turns this one off too, so it reads the same options.
    schema: rateLimitPluginSchema,

    setup(setup: PluginSetup) {
      metrics = metricsOn(setup.registry, setup.metricPrefix);
    },

    middleware(route: Route): Middleware | undefined {
      if (route.kind === 'builtin' || routeRateLimitOf(route.config) === false) return undefined;
      const rejected = metrics.rejected.labels(route.id, '', 'pre-auth');
      return async function preAuthLimiter(ctx, next) {
        const result = store.consumeSync(ipKey(ctx.clientIp), policy);
        if (result.allowed) return next();
        rejected.inc();
        const retryAfter = retryAfterSeconds(result);
        throw new GatewayError('GW_RATE_LIMITED', {
          detail: 'too many requests from this address',
          headers: { 'retry-after': String(retryAfter) },
          extra: { retryAfter },
        });
      };
    },

    async close() {
      await store.close();
    },
  };
}
