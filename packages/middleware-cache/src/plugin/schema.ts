import {
  authPolicy,
  type BuiltinSpec,
  type ConfigIssue,
  type PluginSchema,
  pathPrefix,
  type RouteConfig,
} from '@lucid/gateway-core';
import { z } from 'zod';
import {
  type CacheConfigInput,
  cacheConfigSchema,
  type RouteCache,
  routeCacheSchema,
} from '../config/schema.js';

/**
 * The purge endpoint as a built-in, `builtins.cache`: off unless turned on, DELETE only, and with
 * `auth` and `scopes` left out, a token with the `admin` scope. It fails closed: without a plugin
 * that authenticates, the config is refused unless it says `auth: public` itself.
 */
export const CACHE_BUILTINS = {
  cache: {
    path: '/cache',
    exact: true,
    optIn: true,
    // With server.admin, purges are taken on the admin listener only.
    admin: true,
    methods: ['DELETE'],
    options: {
      path: pathPrefix
        .refine((p) => p !== '/', { message: 'the purge endpoint needs a path of its own, like "/cache"' })
        .default('/cache'),
      auth: authPolicy.optional(),
      scopes: z.array(z.string()).optional(),
    },
    access: (settings) => {
      const own = settings as { auth?: 'required' | 'public'; scopes?: string[] };
      const auth = own.auth ?? 'required';
      return { auth, scopes: own.scopes ?? (auth === 'required' ? ['admin'] : []) };
    },
  },
} as const satisfies Readonly<Record<string, BuiltinSpec>>;

/** The route's `cache`, as the schema checked it. */
export const routeCacheOf = (route: RouteConfig): RouteCache =>
  (route as RouteConfig & { cache?: RouteCache }).cache;

const isObj = (v: unknown): v is Record<string, unknown> =>
  v !== null && typeof v === 'object' && !Array.isArray(v);

/**
 * What the cache adds to the config: the `cache` section, a route's `cache`, and a check that
 * `store: redis` has a connection.
 *
 * @example composeConfigSchema([cachePluginSchema])
 */
export const cachePluginSchema: PluginSchema = {
  name: 'cache',
  sections: { cache: cacheConfigSchema },
  route: { cache: routeCacheSchema },
  builtins: CACHE_BUILTINS,
  check({ config, invalidSections }) {
    const issues: ConfigIssue[] = [];
    if (invalidSections.has('cache')) return issues;
    const section = isObj(config.cache) ? config.cache : undefined;
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

// The `cache` section and a route's `cache`, in the config's type once this package is imported.
declare module '@lucid/gateway-core' {
  interface GatewayConfigExtensions {
    /** The RFC 9111 shared response cache, in memory or Redis (`@lucid/middleware-cache`). */
    cache?: CacheConfigInput;
  }
  interface RouteOptionsExtensions {
    /** Cache this route's GET answers: `true` (the upstream's freshness) or options (`@lucid/middleware-cache`). */
    cache?: z.input<typeof routeCacheSchema>;
  }
}
