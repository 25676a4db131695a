import { duration, size } from '@lucid/gateway-core';
import { z } from 'zod';

const redisUrl = z.string().refine(
  (v) => {
    try {
      const u = new URL(v);
      return (u.protocol === 'redis:' || u.protocol === 'rediss:') && u.hostname !== '';
    } catch {
      return false;
    }
  },
  { message: 'expected a URL like "redis://127.0.0.1:6379" (or "rediss://" for TLS)' },
);

export const cacheRedisSchema = z.strictObject({
  url: redisUrl.optional(),
  username: z.string().optional(),
  password: z.string().optional(),
  keyPrefix: z.string().default('lucid:cache:'),
  /** Longest wait for one reply; past it the request is answered as if uncached (bypass). */
  commandTimeout: duration.default(250),
  connectTimeout: duration.default(2_000),
});

/**
 * The `cache:` section of the gateway config.
 *
 * @example cacheConfigSchema.parse({ store: 'redis', redis: { url: 'redis://127.0.0.1:6379' } })
 */
export const cacheConfigSchema = z
  .strictObject({
    store: z.enum(['memory', 'redis'], { message: 'expected "memory" or "redis"' }).default('memory'),
    /** Redis for `store: redis`; when left out, `rateLimit.redis.url` is used. */
    redis: cacheRedisSchema.optional(),
    /** Memory store: total bytes kept (least recently used entries go first). */
    maxSize: size.default(64 * 1024 * 1024),
    /** Larger responses stream through uncached, never held. */
    maxEntry: size.default(1024 * 1024),
    /** With Redis: how long one instance may hold a key's fetch before others fetch as well. */
    lockTimeout: duration.default(5_000),
  })
  .superRefine((cfg, ctx) => {
    if (cfg.maxEntry > cfg.maxSize) {
      ctx.addIssue({
        code: 'custom',
        path: ['maxEntry'],
        message: `maxEntry (${cfg.maxEntry} bytes) is larger than maxSize (${cfg.maxSize} bytes): no such entry could be kept`,
      });
    }
  });

export type CacheConfigInput = z.input<typeof cacheConfigSchema>;
export type CacheConfig = z.output<typeof cacheConfigSchema>;

const headerName = z
  .string()
  .regex(/^[A-Za-z0-9!#$%&'*+.^_`|~-]+$/, { message: 'expected a header name, e.g. "accept-language"' })
  .transform((v) => v.toLowerCase());

/** A route's own cache settings: `true` for RFC 9111 freshness only, or an object. */
export const routeCacheOptionsSchema = z.strictObject({
  /** Freshness when the upstream gives none (no max-age, s-maxage or Expires); never overrides no-store or private. */
  ttl: duration.optional(),
  /** RFC 5861: serve a stale answer this long after it expired while one fetch refreshes it. */
  staleWhileRevalidate: duration.optional(),
  /** RFC 5861: serve a stale answer this long after it expired when the upstream fails (5xx or unreachable). */
  staleIfError: duration.optional(),
  /** Request headers whose values are part of the key, beside those the upstream names in Vary. */
  vary: z.array(headerName).default([]),
  /** Key by the verified identity's `sub`: each user's answers are stored apart, including those to authenticated requests. */
  perUser: z.boolean().default(false),
});

export const routeCacheSchema = z.union([z.boolean(), routeCacheOptionsSchema]).optional();

export type RouteCacheOptions = z.output<typeof routeCacheOptionsSchema>;
export type RouteCache = z.output<typeof routeCacheSchema>;
