import {
  ConfigError,
  Counter,
  counterOn,
  GatewayError,
  type GatewayPlugin,
  type Middleware,
  PLUGIN_ORDER,
  type PluginSetup,
  parseWith,
  type Route,
  registerErrors,
} from '@lucid/gateway-core';
import type { ConsumeResult } from '../algorithm/gcra.js';
import { type RateLimitConfig, type RateLimitConfigInput, rateLimitConfigSchema } from '../config/schema.js';
import { type HeaderPolicy, retryAfterSeconds, setRateHeaders } from '../headers/rate-headers.js';
import { identityOf } from '../keys/identity.js';
import { MemoryStore } from '../stores/memory-store.js';
import { RedisStore } from '../stores/redis-store.js';
import type { RateLimitStore } from '../stores/types.js';
import { rateLimitColumn } from './dashboard-column.js';
import { routePolicies } from './route-policies.js';
import { RATE_LIMIT_ERRORS, rateLimitPluginSchema } from './schema.js';

export interface RateLimitExtras {
  /** A store to use instead of the one the config describes (e.g. a `RedisStore` on your own client). */
  store?: RateLimitStore;
}

export interface RateLimitPlugin extends GatewayPlugin {
  name: 'rate-limit';
  readonly config: RateLimitConfig;
  readonly store: RateLimitStore;
}

/** Parses a `rateLimit:` section, naming problems by their full path (`rateLimit.defaultTier`). */
export function parseRateLimitConfig(options: unknown): RateLimitConfig {
  try {
    return parseWith(rateLimitConfigSchema, options ?? {});
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    throw new ConfigError(
      err.issues.map((i) => ({ ...i, path: i.path ? `rateLimit.${i.path}` : 'rateLimit' })),
    );
  }
}

function storeFor(cfg: RateLimitConfig): RateLimitStore {
  if (cfg.store === 'memory') return new MemoryStore({ maxKeys: cfg.maxKeys });
  const r = cfg.redis!;
  return new RedisStore({
    url: r.url,
    sentinels: r.sentinels,
    name: r.name,
    cluster: r.cluster,
    username: r.username,
    password: r.password,
    commandTimeout: r.commandTimeout,
    slowReply: r.slowReply,
    connectTimeout: r.connectTimeout,
  });
}

export function metricsOn(registry: PluginSetup['registry'] | undefined, prefix: string) {
  // Before setup() hands over the gateway's registry, counts go to unregistered families.
  const counter = (name: string, help: string, labels: string[]) =>
    registry ? counterOn(registry, name, help, labels) : new Counter(name, help, labels);
  return {
    rejected: counter(
      `${prefix}ratelimit_rejected_total`,
      'Requests refused with 429, by route, tier and limiter (rate-limit or pre-auth).',
      ['route', 'tier', 'limiter'],
    ),
    storeErrors: counter(
      `${prefix}ratelimit_store_errors_total`,
      'Rate-limit store calls that failed (Redis down, reconnecting, hung past the command timeout or refusing), by store.',
      ['store'],
    ),
    slowReplies: counter(
      `${prefix}ratelimit_store_slow_replies_total`,
      'Store replies slower than redis.slowReply, still used to decide (slow is not down), by store.',
      ['store'],
    ),
  };
}

/**
 * Tiered rate limiting: each request spends one unit of its tier's budget (GCRA), counted by
 * the verified user (else the client ip, IPv6 by /64) or by a configured header. The tier comes
 * only from `ctx.state.identity.tier`, which an authenticating plugin sets from verified claims. Limited routes
 * answer with `RateLimit-Policy`, `RateLimit` and `X-RateLimit-*`; a refusal is a 429 problem
 * with `Retry-After`, and never reaches the upstream.
 *
 * @example
 * const gateway = createGateway(config, {
 *   plugins: [jwtAuth(config.auth), rateLimit({ store: 'redis', redis: { url: process.env.REDIS_URL } })],
 * });
 */
export function rateLimit(options: RateLimitConfigInput = {}, extras: RateLimitExtras = {}): RateLimitPlugin {
  registerErrors(RATE_LIMIT_ERRORS);
  const cfg = parseRateLimitConfig(options);
  const store = extras.store ?? storeFor(cfg);
  const keyPrefix = cfg.redis?.keyPrefix ?? 'lucid:rl:';
  const closed = cfg.onStoreError === 'closed';
  const fallback =
    store.name !== 'memory' && !closed && cfg.fallback === 'memory'
      ? new MemoryStore({ maxKeys: cfg.maxKeys })
      : undefined;
  const identity = identityOf(cfg.keyBy);
  // The memory store answers synchronously; skipping the promise keeps its hot path short.
  const memory = store instanceof MemoryStore ? store : undefined;
  let metrics = metricsOn(undefined, '');
  let logger: PluginSetup['logger'] | undefined;
  let storeErrorsSinceLog = 0;
  let lastLog = 0;

  const unavailable = () =>
    new GatewayError('GW_RATE_LIMIT_UNAVAILABLE', {
      detail: 'rate limiting is unavailable',
      headers: { 'retry-after': '1' },
    });

  const reasonOf = (err: unknown) => store.describeError?.(err) ?? String((err as Error)?.message ?? err);

  function storeFailed(err: unknown, storeErrors: { inc(): void }): void {
    storeErrors.inc();
    storeErrorsSinceLog++;
    const now = Date.now();
    // One line per 10 s at most: a Redis outage must not turn into a log flood.
    if (now - lastLog >= 10_000) {
      // Operators get the reason in words; the library's error and stack only at debug level.
      logger?.debug({ err, store: store.name }, 'rate-limit store error');
      logger?.warn(
        {
          reason: reasonOf(err),
          store: store.name,
          failures: storeErrorsSinceLog,
          onStoreError: cfg.onStoreError,
          fallback: fallback ? 'memory' : 'none',
        },
        'rate-limit store failed',
      );
      lastLog = now;
      storeErrorsSinceLog = 0;
    }
  }

  return {
    name: 'rate-limit',
    order: PLUGIN_ORDER.limits,
    schema: rateLimitPluginSchema,
    config: cfg,
    store,

    setup(setup) {
      metrics = metricsOn(setup.registry, setup.metricPrefix);
      logger = setup.logger;
      if (store instanceof RedisStore) {
        const slow = metrics.slowReplies.labels(store.name);
        store.onSlowReply = () => slow.inc();
      }
    },

    middleware(route: Route): Middleware | undefined {
      if (route.kind === 'builtin') return undefined;
      const policies = routePolicies(route, cfg);
      if (!policies) return undefined;
      const { byTier, fallback: defaultPolicy } = policies;
      const prefix = `${keyPrefix}${policies.perRoute ? `r:${route.id}:` : ''}{`;
      const rejected = new Map<HeaderPolicy, { inc(): void }>();
      for (const p of byTier.values())
        rejected.set(p, metrics.rejected.labels(route.id, p.name, 'rate-limit'));
      const storeErrors = metrics.storeErrors.labels(store.name);

      return async function rateLimiter(ctx, next) {
        const tier = ctx.state.identity?.tier;
        const policy = (tier !== undefined && byTier.get(tier)) || defaultPolicy;
        const key = `${prefix}${identity(ctx)}}`;
        let result: ConsumeResult;
        try {
          result = memory ? memory.consumeSync(key, policy) : await store.consume(key, policy);
        } catch (err) {
          storeFailed(err, storeErrors);
          if (closed) throw unavailable();
          if (!fallback) return next();
          result = fallback.consumeSync(key, policy);
        }
        if (result.allowed) {
          setRateHeaders(ctx.responseHeaders, policy, result);
          return next();
        }
        rejected.get(policy)!.inc();
        const retryAfter = retryAfterSeconds(result);
        const headers = { 'retry-after': String(retryAfter) };
        setRateHeaders(headers, policy, result);
        throw new GatewayError('GW_RATE_LIMITED', {
          detail: `rate limit of ${policy.limit} per ${policy.windowMs / 1000}s exceeded`,
          headers,
          extra: { retryAfter },
        });
      };
    },

    // Ready once the store answers, so the first requests are counted where every instance counts;
    // bounded by the store's connect timeout, after which requests follow onStoreError.
    async start() {
      if (!store.connect) return;
      const wait = cfg.redis?.connectTimeout ?? 2_000;
      let timer: NodeJS.Timeout | undefined;
      try {
        await Promise.race([
          store.connect(),
          new Promise<never>((_, reject) => {
            timer = setTimeout(() => reject(new Error(`no answer within ${wait} ms`)), wait);
          }),
        ]);
      } catch (err) {
        // Not fatal: the client keeps reconnecting, and requests meanwhile follow onStoreError.
        logger?.debug({ err, store: store.name }, 'rate-limit store error');
        logger?.warn(
          { reason: reasonOf(err), store: store.name, onStoreError: cfg.onStoreError },
          'rate-limit store not ready at start; requests follow onStoreError until it is, retrying in the background',
        );
      } finally {
        clearTimeout(timer);
      }
    },

    // After the drain: requests in flight still count in the store.
    async close() {
      await Promise.all([store.close(), fallback?.close()]);
    },

    async health() {
      return (await store.health?.()) ?? { healthy: true, detail: { store: store.name } };
    },

    /** Refusals since start, per tier (both limiters, as /metrics counts them); every tier shows, 0 included. */
    dashboardRoute: rateLimitColumn,

    async dashboard() {
      const rejectedByTier: Record<string, number> = {};
      for (const tier of Object.keys(cfg.tiers)) rejectedByTier[tier] = 0;
      for (const v of (await metrics.rejected.get()).values) {
        const tier = String(v.labels.tier);
        rejectedByTier[tier] = (rejectedByTier[tier] ?? 0) + v.value;
      }
      return { rejectedByTier };
    },
  };
}
