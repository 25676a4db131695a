export {
  type CacheConfig,
  type CacheConfigInput,
  cacheConfigSchema,
  cacheRedisSchema,
  type RouteCacheOptions,
  routeCacheOptionsSchema,
  routeCacheSchema,
} from './config/schema.js';
export { sortedQuery } from './http/key.js';
export {
  CACHE_ORDER,
  CACHE_RESULTS,
  parseCacheConfig,
  type ResponseCacheExtras,
  type ResponseCachePlugin,
  responseCache,
} from './plugin/cache.js';
export type { CacheResult } from './plugin/route-cache.js';
export { cachePluginSchema } from './plugin/schema.js';
export { purgeHandler, purgeTarget } from './purge/purge.js';
export { MemoryCacheStore } from './store/memory-store.js';
export { type CacheRecord, decodeRecord, encodeRecord, type StoredAnswer } from './store/record.js';
export {
  CacheStoreTimeoutError,
  CacheStoreUnavailableError,
  RedisCacheStore,
  type RedisCacheStoreOptions,
} from './store/redis-store.js';
export type { CacheStore } from './store/types.js';
