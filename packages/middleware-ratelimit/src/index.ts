export { type ConsumeResult, gcraStep, intervalUs, type Policy } from './algorithm/gcra.js';
export {
  DEFAULT_TIERS,
  type RateLimitConfig,
  type RateLimitConfigInput,
  rateLimitConfigSchema,
  redisSchema,
} from './config/schema.js';
export { type HeaderPolicy, headerPolicy, setRateHeaders } from './headers/rate-headers.js';
export { hashedKey, ipKey } from './keys/client-key.js';
export { rateLimitPlugins } from './plugin/plugins.js';
export { type PreAuthOptionsInput, preAuthLimit, preAuthOptionsSchema } from './plugin/pre-auth.js';
export {
  parseRateLimitConfig,
  type RateLimitExtras,
  type RateLimitPlugin,
  rateLimit,
} from './plugin/rate-limit.js';
export { RATE_LIMIT_ERRORS, rateLimitPluginSchema, routeRateLimitSchema } from './plugin/schema.js';
export { MemoryStore, type MemoryStoreOptions } from './stores/memory-store.js';
export {
  createRedisClient,
  type RedisClient,
  type RedisConnectionOptions,
} from './stores/redis-connection.js';
export {
  REDIS_STORE_DEFAULTS,
  RedisStore,
  type RedisStoreOptions,
  type RedisStoreTimings,
  StoreTimeoutError,
  StoreUnavailableError,
} from './stores/redis-store.js';
export type { RateLimitStore } from './stores/types.js';
