import {
  type ConfigIssue,
  didYouMean,
  type ErrorSpec,
  type PluginSchema,
  type RouteConfig,
  rate,
} from '@lucid/gateway-core';
import { z } from 'zod';
import { type RateLimitConfigInput, rateLimitConfigSchema } from '../config/schema.js';

/** A route's own limit: `false` turns limiting off; a rate overrides the tier's; an object overrides per tier. */
export const routeRateLimitSchema = z.union([z.literal(false), rate, z.record(z.string(), rate)]).optional();

export type RouteRateLimit = z.output<typeof routeRateLimitSchema>;

/** The route's `rateLimit`, as the schema checked it. */
export const routeRateLimitOf = (route: RouteConfig): RouteRateLimit =>
  (route as RouteConfig & { rateLimit?: RouteRateLimit }).rateLimit;

export const RATE_LIMIT_ERRORS = {
  GW_RATE_LIMITED: { status: 429, title: 'Too many requests' },
  // The store (Redis) is down and limits fail closed: the limiter's outage, not an upstream's.
  GW_RATE_LIMIT_UNAVAILABLE: { status: 503, title: 'Rate limiting unavailable' },
} as const satisfies Record<string, ErrorSpec>;

const isObj = (v: unknown): v is Record<string, unknown> =>
  v !== null && typeof v === 'object' && !Array.isArray(v);
const isPerTier = (v: unknown): v is Record<string, unknown> =>
  isObj(v) && !('limit' in v && 'windowMs' in v);

/**
 * What the rate limiter adds to the config: the `rateLimit` section, a route's `rateLimit`, its
 * error codes, and checks that route limits name known tiers.
 *
 * @example composeConfigSchema([rateLimitPluginSchema])
 */
export const rateLimitPluginSchema: PluginSchema = {
  name: 'rate-limit',
  sections: { rateLimit: rateLimitConfigSchema },
  route: { rateLimit: routeRateLimitSchema },
  errors: RATE_LIMIT_ERRORS,
  check({ config, routePath, invalidSections }) {
    const issues: ConfigIssue[] = [];
    // A section that failed its schema has its own messages already.
    if (invalidSections.has('rateLimit')) return issues;
    const section = isObj(config.rateLimit) ? config.rateLimit : undefined;
    const tiers = section && isObj(section.tiers) ? Object.keys(section.tiers) : undefined;
    for (const route of config.routes) {
      const own = routeRateLimitOf(route);
      if (own === undefined || own === false) continue;
      const at = `${routePath(route)}.rateLimit`;
      if (!section) {
        issues.push({
          path: at,
          message: `"${route.prefix}" sets a rate limit, but no "rateLimit" section is configured, so nothing limits it`,
          fix: 'add a rateLimit section (store: memory needs nothing else)',
          severity: 'warning',
        });
        continue;
      }
      if (!tiers || !isPerTier(own)) continue;
      for (const tier of Object.keys(own)) {
        if (tiers.includes(tier)) continue;
        const hint = didYouMean(tier, tiers);
        issues.push({
          path: `${at}.${tier}`,
          message: `unknown tier "${tier}"${hint ? ` (did you mean "${hint}"?)` : ''}`,
          fix: `use one of the tiers under rateLimit.tiers: ${tiers.join(', ')}`,
        });
      }
    }
    return issues;
  },
};

// The `rateLimit` section and a route's own `rateLimit`, in the config's type once this package is imported.
declare module '@lucid/gateway-core' {
  interface GatewayConfigExtensions {
    /** Tiered rate limits, in memory or Redis (`@lucid/middleware-ratelimit`). */
    rateLimit?: RateLimitConfigInput;
  }
  interface RouteOptionsExtensions {
    /** This route's own limit: `false` for none, a rate, or a rate per tier (`@lucid/middleware-ratelimit`). */
    rateLimit?: z.input<typeof routeRateLimitSchema>;
  }
}
