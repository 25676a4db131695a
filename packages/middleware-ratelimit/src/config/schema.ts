import { didYouMean, duration, rate } from '@lucid/gateway-core';
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

const sentinelAddress = z.string().regex(/^(redis:\/\/)?[^\s/:]+:\d+$/, { message: 'expected "host:port"' });

export const redisSchema = z.strictObject({
  url: redisUrl.optional(),
  /** Sentinel addresses; with `name`, the monitored master's name. */
  sentinels: z.array(sentinelAddress).nonempty().optional(),
  name: z.string().optional(),
  /** Cluster seed nodes. */
  cluster: z.array(redisUrl).nonempty().optional(),
  username: z.string().optional(),
  password: z.string().optional(),
  keyPrefix: z.string().default('lucid:rl:'),
  /**
   * Longest wait for one reply from a connected Redis, for a server that hangs with its socket
   * open. While Redis is down or reconnecting, requests do not wait: they follow `onStoreError` at once.
   */
  commandTimeout: duration.default(1_000),
  /** Replies slower than this are counted in `ratelimit_store_slow_replies_total` (and still used). */
  slowReply: duration.default(50),
  connectTimeout: duration.default(2_000),
});

// Tier names appear in the RateLimit-Policy header (a structured-field string) and in metric labels.
const tierName = z
  .string()
  .regex(/^[A-Za-z0-9_.-]+$/, { message: 'a tier name is letters, digits, "_", "." or "-"' });

export const DEFAULT_TIERS = { free: '100/min', premium: '1000/min', enterprise: '10000/min' } as const;

/**
 * The `rateLimit:` section of the gateway config.
 *
 * @example
 * rateLimitConfigSchema.parse({ store: 'redis', redis: { url: 'redis://127.0.0.1:6379' } })
 */
export const rateLimitConfigSchema = z
  .strictObject({
    store: z.enum(['memory', 'redis'], { message: 'expected "memory" or "redis"' }).default('memory'),
    redis: redisSchema.optional(),
    /** `user`: the verified token's `sub`, else the client ip; `ip`: always the client ip; or a request header. */
    keyBy: z
      .union([
        z.enum(['user', 'ip'], { message: 'expected "user", "ip" or { header: <name> }' }),
        z.strictObject({ header: z.string().min(1).toLowerCase() }),
      ])
      .default('user'),
    tiers: z.record(tierName, rate).prefault({ ...DEFAULT_TIERS }),
    defaultTier: z.string().default('free'),
    /** Count each route apart (the key includes the route). Routes with their own `rateLimit` always are. */
    perRoute: z.boolean().default(false),
    /** When the store fails: `open` lets requests through (limited by `fallback`), `closed` refuses them. */
    onStoreError: z.enum(['open', 'closed'], { message: 'expected "open" or "closed"' }).default('open'),
    /** While Redis is down and `onStoreError` is open: limit in this process (`memory`) or not at all. */
    fallback: z.enum(['memory', 'none'], { message: 'expected "memory" or "none"' }).default('memory'),
    /** A cheap per-ip limit that runs before authentication, e.g. `600/min`. */
    preAuth: rate.optional(),
    /** Most keys the in-process stores keep (the memory store, the fallback, the pre-auth limiter). */
    maxKeys: z.number().int().min(100).default(100_000),
  })
  .superRefine((cfg, ctx) => {
    const tiers = Object.keys(cfg.tiers);
    if (tiers.length === 0) {
      ctx.addIssue({
        code: 'custom',
        path: ['tiers'],
        message: 'at least one tier is needed, e.g. { free: "100/min" }',
      });
    } else if (!Object.hasOwn(cfg.tiers, cfg.defaultTier)) {
      const hint = didYouMean(cfg.defaultTier, tiers);
      ctx.addIssue({
        code: 'custom',
        path: ['defaultTier'],
        message: `"${cfg.defaultTier}" is not a tier${hint ? ` (did you mean "${hint}"?)` : ''}; tiers are ${tiers.join(', ')}`,
      });
    }
    const r = cfg.redis;
    const modes = r ? [r.url, r.sentinels, r.cluster].filter((m) => m !== undefined).length : 0;
    if (cfg.store === 'redis' && modes === 0) {
      ctx.addIssue({
        code: 'custom',
        path: ['redis'],
        message:
          'store "redis" needs a connection: set redis.url (e.g. "redis://127.0.0.1:6379"), redis.sentinels with redis.name, or redis.cluster',
      });
    }
    if (modes > 1) {
      ctx.addIssue({
        code: 'custom',
        path: ['redis'],
        message: 'set only one of redis.url, redis.sentinels and redis.cluster',
      });
    }
    if (r?.sentinels && !r.name) {
      ctx.addIssue({
        code: 'custom',
        path: ['redis', 'name'],
        message: 'required with redis.sentinels: the master name, e.g. "mymaster"',
      });
    }
  });

export type RateLimitConfigInput = z.input<typeof rateLimitConfigSchema>;
export type RateLimitConfig = z.output<typeof rateLimitConfigSchema>;
