import {
  ConfigError,
  Counter,
  counterOn,
  type DashboardColumn,
  type GatewayPlugin,
  Gauge,
  gaugeOn,
  type Middleware,
  type PluginSetup,
  type ProxyRoute,
  parseWith,
  type Route,
} from '@lucid/gateway-core';
import {
  type CacheConfig,
  type CacheConfigInput,
  cacheConfigSchema,
  type RouteCacheOptions,
  routeCacheOptionsSchema,
} from '../config/schema.js';
import { purgeHandler } from '../purge/purge.js';
import { MemoryCacheStore } from '../store/memory-store.js';
import { RedisCacheStore } from '../store/redis-store.js';
import type { CacheStore } from '../store/types.js';
import { type CacheDeps, type CacheResult, routeCache } from './route-cache.js';
import { cachePluginSchema, routeCacheOf } from './schema.js';

export const CACHE_RESULTS: readonly CacheResult[] = ['hit', 'miss', 'stale', 'bypass', 'revalidated'];

/** Runs after every other plugin's middleware: a stored answer never skips auth, limits or a user check. */
export const CACHE_ORDER = 1_000;

export interface ResponseCacheExtras {
  /** A store to use instead of the one the config describes. */
  store?: CacheStore;
  /** Redis settings to reuse when `cache.redis` is left out (the CLI passes `rateLimit.redis`). */
  redis?:
    | { url?: string | undefined; username?: string | undefined; password?: string | undefined }
    | undefined;
}

export interface ResponseCachePlugin extends GatewayPlugin {
  name: 'cache';
  readonly config: CacheConfig;
  readonly store: CacheStore;
  /** The purge endpoint's handler (`DELETE ?key=` / `?prefix=`), for a route that mounts it. */
  readonly purge: ReturnType<typeof purgeHandler>;
}

/** Parses a `cache:` section, naming problems by their full path (`cache.maxEntry`). */
export function parseCacheConfig(options: unknown): CacheConfig {
  try {
    return parseWith(cacheConfigSchema, options ?? {});
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    throw new ConfigError(err.issues.map((i) => ({ ...i, path: i.path ? `cache.${i.path}` : 'cache' })));
  }
}

function storeFor(cfg: CacheConfig, extras: ResponseCacheExtras, onCorrupt: () => void): CacheStore {
  if (cfg.store === 'memory') return new MemoryCacheStore({ maxSize: cfg.maxSize });
  const r = cfg.redis;
  const url = r?.url ?? extras.redis?.url;
  if (url === undefined) {
    throw new ConfigError([
      {
        path: 'cache.redis',
        message: 'store "redis" needs cache.redis.url (or rateLimit.redis.url, which it reuses)',
      },
    ]);
  }
  return new RedisCacheStore({
    url,
    username: r?.url ? r.username : (r?.username ?? extras.redis?.username),
    password: r?.url ? r.password : (r?.password ?? extras.redis?.password),
    keyPrefix: r?.keyPrefix ?? 'lucid:cache:',
    commandTimeout: r?.commandTimeout ?? 250,
    connectTimeout: r?.connectTimeout ?? 2_000,
    onCorrupt,
  });
}

/** A route's cache settings, or undefined when it does not cache. */
export function routeOptions(route: Route): RouteCacheOptions | undefined {
  if (route.kind !== 'proxy') return undefined;
  const own = routeCacheOf(route.config);
  if (own === undefined || own === false) return undefined;
  return own === true ? routeCacheOptionsSchema.parse({}) : own;
}

function metricsOn(registry: PluginSetup['registry'] | undefined, prefix: string) {
  const counter = (name: string, help: string, labels: string[]) =>
    registry ? counterOn(registry, name, help, labels) : new Counter(name, help, labels);
  const gauge = (name: string, help: string) =>
    registry ? gaugeOn(registry, name, help) : new Gauge(name, help);
  return {
    requests: counter(
      `${prefix}cache_requests_total`,
      'Requests on cached routes, by route and result (hit, miss, stale, bypass, revalidated).',
      ['route', 'result'],
    ),
    storedBytes: gauge(
      `${prefix}cache_stored_bytes`,
      'Bytes the memory cache store holds now (bodies and headers).',
    ),
    written: counter(
      `${prefix}cache_written_bytes_total`,
      'Bytes of answers written to the cache store.',
      [],
    ),
    storeErrors: counter(
      `${prefix}cache_store_errors_total`,
      'Cache store calls that failed or timed out (the request was then served uncached), and records dropped as unreadable, by kind.',
      ['kind'],
    ),
  };
}

/**
 * The RFC 9111 shared cache: GET and HEAD answers of routes with `cache:` are kept (memory, LRU by
 * bytes, or Redis shared by every instance) and served with `Age` and `Cache-Status`; a miss goes
 * upstream once per key however many ask at once. It runs after every other middleware, so auth
 * and the rate limit see every request, cached or not.
 *
 * @example
 * createGateway(config, { plugins: [jwtAuth(config.auth), responseCache({ store: 'memory', maxSize: '64mb' })] });
 */
export function responseCache(
  options: CacheConfigInput = {},
  extras: ResponseCacheExtras = {},
): ResponseCachePlugin {
  const cfg = parseCacheConfig(options);
  let metrics = metricsOn(undefined, '');
  let logger: PluginSetup['logger'] | undefined;
  const store = extras.store ?? storeFor(cfg, extras, () => metrics.storeErrors.labels('corrupt').inc());
  const memory = store instanceof MemoryCacheStore ? store : undefined;
  // Outlives reloads with the store: a fetch in flight on the old config still serves the new one's waiters.
  const inflight = new Map<string, Promise<void>>();
  let failing = false;
  let failures = 0;

  function storeFailed(err: unknown): void {
    metrics.storeErrors.labels('unavailable').inc();
    failures++;
    if (failing) return;
    // Once per outage: the first failure is logged, the rest counted until the store answers again.
    failing = true;
    logger?.warn(
      { reason: store.describeError?.(err) ?? String((err as Error)?.message ?? err), store: store.name },
      'cache store failed; requests are served uncached until it answers again',
    );
  }

  const deps: CacheDeps = {
    store: {
      name: store.name,
      get: async (p, f) => {
        const r = await store.get(p, f);
        if (failing) {
          failing = false;
          logger?.info({ store: store.name, failures }, 'cache store answers again');
          failures = 0;
        }
        return r;
      },
      set: async (p, f, rec, ttl) => {
        await store.set(p, f, rec, ttl);
        if (rec.kind === 'answer') metrics.written.labels().inc(rec.body.length);
        if (memory) metrics.storedBytes.labels().set(memory.usage().bytes);
      },
      purgePath: (p) => store.purgePath(p),
      purgePrefix: (p) => store.purgePrefix(p),
      ...(store.lock && { lock: store.lock.bind(store), unlock: store.unlock!.bind(store) }),
      close: () => store.close(),
    },
    maxEntry: cfg.maxEntry,
    lockTimeout: cfg.lockTimeout,
    inflight,
    count: (route, result) => metrics.requests.labels(route, result).inc(),
    storeFailed,
  };

  return {
    name: 'cache',
    order: CACHE_ORDER,
    schema: cachePluginSchema,
    config: cfg,
    store,
    purge: purgeHandler(store),

    setup(setup) {
      metrics = metricsOn(setup.registry, setup.metricPrefix);
      logger = setup.logger;
    },

    builtins() {
      return { cache: purgeHandler(store) };
    },

    middleware(route: Route): Middleware | undefined {
      const opts = routeOptions(route);
      if (opts === undefined) return undefined;
      return routeCache(route as ProxyRoute, opts, deps);
    },

    async start() {
      try {
        await store.connect?.();
      } catch (err) {
        logger?.warn(
          { reason: store.describeError?.(err) ?? String(err), store: store.name },
          'cache store not reachable at start; requests are served uncached until it is',
        );
      }
    },

    async close() {
      await store.close();
    },

    async health() {
      return (await store.health?.()) ?? { healthy: true, detail: { store: store.name, ...memory?.usage() } };
    },

    dashboardRoute(route: ProxyRoute): Record<string, DashboardColumn> {
      const opts = routeOptions(route);
      let value = 'off';
      if (opts) {
        value = opts.ttl !== undefined ? `ttl ${opts.ttl / 1000}s` : 'rfc 9111';
        if (opts.perUser) value += ', per user';
      }
      return { cache: { label: 'cache', value } };
    },

    async dashboard() {
      const byResult: Record<string, number> = {};
      for (const r of CACHE_RESULTS) byResult[r] = 0;
      for (const v of (await metrics.requests.get()).values) {
        const r = String(v.labels.result);
        byResult[r] = (byResult[r] ?? 0) + v.value;
      }
      return { cacheRequests: byResult };
    },
  };
}
