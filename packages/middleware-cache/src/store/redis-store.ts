import { createRequire } from 'node:module';
import { type ComponentHealth, withDeadline } from '@lucid/gateway-core';
import type * as Ioredis from 'ioredis';
import type { Redis } from 'ioredis';
import { type CacheRecord, CorruptRecordError, decodeRecord, encodeRecord } from './record.js';
import type { CacheStore } from './types.js';

const requireHere = createRequire(import.meta.url);

export class CacheStoreUnavailableError extends Error {
  readonly code = 'ERR_LUCID_CACHE_STORE_UNAVAILABLE';
  constructor(reason: string) {
    super(`cache store unavailable: ${reason}`);
    this.name = 'CacheStoreUnavailableError';
  }
}

export class CacheStoreTimeoutError extends Error {
  readonly code = 'ERR_LUCID_CACHE_STORE_TIMEOUT';
  constructor(ms: number) {
    super(`cache store did not answer within ${ms} ms`);
    this.name = 'CacheStoreTimeoutError';
  }
}

export interface RedisCacheStoreOptions {
  url?: string | undefined;
  username?: string | undefined;
  password?: string | undefined;
  keyPrefix?: string;
  commandTimeout?: number;
  connectTimeout?: number;
  /** An ioredis client owned by the caller; `close()` leaves it open. */
  client?: Redis;
  /** Called when a record could not be read and was dropped. */
  onCorrupt?: () => void;
}

// HSET, then the hash's expiry raised (never lowered) to the new record's: one path's variants live
// in one hash, so a purge drops them with one DEL.
const SET_LUA = `redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
local ttl = redis.call('PTTL', KEYS[1])
if ttl < tonumber(ARGV[3]) then redis.call('PEXPIRE', KEYS[1], ARGV[3]) end
return 1`;

/** `*`, `?`, `[`, `]` and `\` stand for themselves in a SCAN pattern only when escaped. */
const globEscape = (s: string) => s.replace(/[*?[\]\\]/g, '\\$&');

/**
 * Records in Redis, shared by every instance: one hash per path (`<prefix>{<path>}`), one field per
 * variant, a TTL on the hash. Fails fast: while the client is not connected a call rejects at once,
 * and a reply slower than `commandTimeout` is given up on (the request is then served uncached).
 *
 * @example const store = new RedisCacheStore({ url: 'redis://127.0.0.1:6379' }); await store.connect();
 */
export class RedisCacheStore implements CacheStore {
  readonly name = 'redis';
  readonly client: Redis;
  readonly #owned: boolean;
  readonly #prefix: string;
  readonly #timeout: number;
  readonly #onCorrupt: (() => void) | undefined;
  readonly #timedOut: () => Error;
  #lastConnectionError: unknown;

  constructor(opts: RedisCacheStoreOptions) {
    this.#prefix = opts.keyPrefix ?? 'lucid:cache:';
    this.#timeout = opts.commandTimeout ?? 250;
    this.#onCorrupt = opts.onCorrupt;
    this.#timedOut = () => new CacheStoreTimeoutError(this.#timeout);
    if (opts.client) {
      this.client = opts.client;
      this.#owned = false;
    } else {
      // Loaded with the first Redis store: a gateway caching in memory never loads ioredis.
      const { Redis } = requireHere('ioredis') as typeof Ioredis;
      this.client = new Redis(opts.url ?? 'redis://127.0.0.1:6379', {
        lazyConnect: true,
        enableOfflineQueue: false,
        enableAutoPipelining: true,
        connectTimeout: opts.connectTimeout ?? 2_000,
        maxRetriesPerRequest: 0,
        retryStrategy: (times) => Math.min(50 * 2 ** Math.min(times, 6), 2_000),
        ...(opts.username !== undefined && { username: opts.username }),
        ...(opts.password !== undefined && { password: opts.password }),
      });
      this.#owned = true;
    }
    this.client.on('error', (err) => {
      this.#lastConnectionError = err;
    });
    this.client.on('ready', () => {
      this.#lastConnectionError = undefined;
    });
    if (!('lucidCacheSet' in this.client)) {
      this.client.defineCommand('lucidCacheSet', { numberOfKeys: 1, lua: SET_LUA });
    }
  }

  #key(path: string): string {
    return `${this.#prefix}{${path}}`;
  }

  #run<T>(command: () => Promise<T>): Promise<T> {
    const status = this.client.status;
    if (status !== 'ready') return Promise.reject(new CacheStoreUnavailableError(`connection is ${status}`));
    return withDeadline(command(), this.#timeout, this.#timedOut);
  }

  async connect(): Promise<void> {
    if (this.client.status === 'wait' || this.client.status === 'end') await this.client.connect();
  }

  async get(path: string, field: string): Promise<CacheRecord | undefined> {
    const key = this.#key(path);
    const bytes = await this.#run(() => this.client.hgetBuffer(key, field));
    if (bytes === null) return undefined;
    try {
      return decodeRecord(bytes);
    } catch (err) {
      if (!(err instanceof CorruptRecordError)) throw err;
      this.#onCorrupt?.();
      // Dropped, so the next request stores a good one; a failure here changes nothing for this one.
      this.client.hdel(key, field).catch(() => {});
      return undefined;
    }
  }

  async set(path: string, field: string, record: CacheRecord, ttlMs: number): Promise<void> {
    if (ttlMs <= 0) return;
    const key = this.#key(path);
    const bytes = encodeRecord(record);
    const client = this.client as Redis & {
      lucidCacheSet(key: string, field: string, value: Buffer, ttl: string): Promise<number>;
    };
    await this.#run(() => client.lucidCacheSet(key, field, bytes, String(Math.ceil(ttlMs))));
  }

  async purgePath(path: string): Promise<number> {
    return this.#run(() => this.client.del(this.#key(path)));
  }

  async purgePrefix(prefix: string): Promise<number> {
    const match = `${globEscape(this.#prefix)}{${globEscape(prefix)}*`;
    let dropped = 0;
    let cursor = '0';
    do {
      const [next, keys] = await this.#run(() => this.client.scan(cursor, 'MATCH', match, 'COUNT', 500));
      cursor = next;
      if (keys.length > 0) dropped += await this.#run(() => this.client.del(...keys));
    } while (cursor !== '0');
    return dropped;
  }

  async lock(key: string, ms: number): Promise<boolean> {
    const reply = await this.#run(() => this.client.set(`${this.#prefix}lock:{${key}}`, '1', 'PX', ms, 'NX'));
    return reply === 'OK';
  }

  async unlock(key: string): Promise<void> {
    await this.#run(() => this.client.del(`${this.#prefix}lock:{${key}}`));
  }

  async health(): Promise<ComponentHealth> {
    try {
      await this.#run(() => this.client.ping());
      return { healthy: true, detail: { store: this.name, status: this.client.status } };
    } catch (err) {
      return {
        healthy: false,
        detail: { store: this.name, status: this.client.status, error: this.describeError(err) },
      };
    }
  }

  /** Why a call failed, in plain words (no address). */
  describeError(err: unknown): string {
    if (err instanceof CacheStoreTimeoutError) return `Redis did not answer within ${this.#timeout} ms`;
    const code = (this.#lastConnectionError as { code?: string } | undefined)?.code;
    if (err instanceof CacheStoreUnavailableError)
      return code ? `Redis unreachable (${code})` : 'Redis not connected (reconnecting)';
    return `Redis failed: ${String((err as Error)?.message ?? err).split('\n')[0]}`;
  }

  async close(): Promise<void> {
    if (!this.#owned || this.client.status === 'end') return;
    if (this.client.status === 'wait') {
      this.client.disconnect();
      return;
    }
    try {
      await this.client.quit();
    } catch {
      this.client.disconnect();
    }
  }
}
