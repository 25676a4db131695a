import { ConfigError, didYouMean, type Rate, type Route } from '@lucid/gateway-core';
import type { RateLimitConfig } from '../config/schema.js';
import { type HeaderPolicy, headerPolicy } from '../headers/rate-headers.js';
import { routeRateLimitOf } from './schema.js';

export interface RoutePolicies {
  /** The policy for each configured tier on this route. */
  byTier: Map<string, HeaderPolicy>;
  /** The default tier's, for requests whose tier is unknown or absent. */
  fallback: HeaderPolicy;
  /** Counted apart from other routes (the key carries the route). */
  perRoute: boolean;
}

function isRate(v: unknown): v is Rate {
  return typeof (v as Rate).limit === 'number' && typeof (v as Rate).windowMs === 'number';
}

/**
 * The policies a route runs with: the tiers', or the route's own `rateLimit` (one rate for every
 * tier, or some tiers overridden). Undefined when the route turns limiting off.
 */
export function routePolicies(route: Route, cfg: RateLimitConfig): RoutePolicies | undefined {
  // The gateway's own endpoints (health probes, metrics scrapes) are not limited.
  if (route.kind === 'builtin') return undefined;
  const own = routeRateLimitOf(route.config);
  if (own === false) return undefined;
  const tiers = Object.keys(cfg.tiers);
  const overrides: Record<string, Rate> = {};
  if (own !== undefined && isRate(own)) {
    for (const tier of tiers) overrides[tier] = own;
  } else if (own !== undefined) {
    const unknown = Object.keys(own).filter((t) => !Object.hasOwn(cfg.tiers, t));
    if (unknown.length > 0) {
      throw new ConfigError(
        unknown.map((t) => {
          const hint = didYouMean(t, tiers);
          return {
            path: `routes[${JSON.stringify(route.id)}].rateLimit.${t}`,
            message: `unknown tier${hint ? ` (did you mean "${hint}"?)` : ''}; tiers are ${tiers.join(', ')}`,
          };
        }),
      );
    }
    Object.assign(overrides, own);
  }
  const byTier = new Map<string, HeaderPolicy>();
  for (const tier of tiers) byTier.set(tier, headerPolicy(tier, overrides[tier] ?? cfg.tiers[tier]!));
  return { byTier, fallback: byTier.get(cfg.defaultTier)!, perRoute: cfg.perRoute || own !== undefined };
}
