import type { ConfigIssue, PluginSchema, RouteConfig } from '@lucid/gateway-core';
import { cacheConfigSchema, type RouteCache, routeCacheSchema } from '../config/schema.js';

/** The route's `cache`, as the schema checked it. */
export const routeCacheOf = (route: RouteConfig): RouteCache =>
  (route as RouteConfig & { cache?: RouteCache }).cache;

const isObj = (v: unknown): v is Record<string, unknown> =>
  v !== null && typeof v === 'object' && !Array.isArray(v);

/**
 * What the cache adds to the config: the `cache` section, a route's `cache`, and checks that a
 * cached route has a cache to use and that `store: redis` has a connection.
 *
 * @example composeConfigSchema([cachePluginSchema])
 */
export const cachePluginSchema: PluginSchema = {
  name: 'cache',
  sections: { cache: cacheConfigSchema },
  route: { cache: routeCacheSchema },
  check({ config, routePath, invalidSections }) {
    const issues: ConfigIssue[] = [];
    if (invalidSections.has('cache')) return issues;
    const section = isObj(config.cache) ? config.cache : undefined;
    for (const route of config.routes) {
      const own = routeCacheOf(route);
      if (own === undefined || own === false || section) continue;
      issues.push({
        path: `${routePath(route)}.cache`,
        message: `"${route.prefix}" asks for caching, but no "cache" section is configured, so nothing caches it`,
        fix: 'add a cache section (cache: { store: memory } needs nothing else)',
        severity: 'warning',
      });
    }
    if (section?.store === 'redis') {
      const own = isObj(section.redis) ? section.redis.url : undefined;
      const rl =
        isObj(config.rateLimit) && isObj(config.rateLimit.redis) ? config.rateLimit.redis.url : undefined;
      if (own === undefined && rl === undefined) {
        issues.push({
          path: 'cache.redis',
          message:
            'store "redis" needs a connection: set cache.redis.url (or rateLimit.redis.url, which it reuses)',
          fix: 'cache: { store: redis, redis: { url: "redis://127.0.0.1:6379" } }',
        });
      }
    }
    return issues;
  },
};
