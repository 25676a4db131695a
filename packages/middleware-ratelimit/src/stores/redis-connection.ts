import { createRequire } from 'node:module';
import type * as Ioredis from 'ioredis';
import type { Cluster, Redis, RedisOptions } from 'ioredis';

const requireHere = createRequire(import.meta.url);
let ioredis: typeof Ioredis | undefined;

/**
 * ioredis, loaded with the first Redis client rather than with this package: most configs use the
 * memory store, and ioredis is some 40 modules a small device would hold for nothing.
 */
export function loadIoredis(): typeof Ioredis {
  ioredis ??= requireHere('ioredis') as typeof Ioredis;
  return ioredis;
}

/** How to reach Redis: one of `url`, `sentinels` (+ `name`), or `cluster`. */
export interface RedisConnectionOptions {
  /** `redis://[user:pass@]host:port[/db]` or `rediss://...` for TLS. */
  url?: string | undefined;
  /** Sentinel addresses (`host:port` or `redis://host:port`); with `name`, the master's name. */
  sentinels?: string[] | undefined;
  name?: string | undefined;
  /** Cluster seed nodes (`redis://host:port`); credentials are taken from the first. */
  cluster?: string[] | undefined;
  username?: string | undefined;
  password?: string | undefined;
  /** ioredis's own bound on every command (none when undefined); `RedisStore` keeps its own instead. */
  commandTimeout?: number | undefined;
  connectTimeout: number;
}

export type RedisClient = Redis | Cluster;

function hostPort(address: string): { host: string; port: number } {
  const url = new URL(address.includes('://') ? address : `redis://${address}`);
  return { host: url.hostname.replace(/^\[|\]$/g, ''), port: Number(url.port || 6379) };
}

/**
 * An ioredis client that fails fast: no offline queue (a command sent while disconnected is refused
 * at once instead of waiting for a reconnect), a command timeout, and endless background reconnects.
 * It connects only when `connect()` is called.
 */
export function createRedisClient(options: RedisConnectionOptions): RedisClient {
  const common: RedisOptions = {
    lazyConnect: true,
    enableOfflineQueue: false,
    // Commands issued in the same tick go out in one write: under load this halves the syscalls.
    enableAutoPipelining: true,
    ...(options.commandTimeout !== undefined && { commandTimeout: options.commandTimeout }),
    connectTimeout: options.connectTimeout,
    maxRetriesPerRequest: 0,
    // Keep trying in the background; requests meanwhile take the store-error path.
    retryStrategy: (times) => Math.min(50 * 2 ** Math.min(times, 6), 2_000),
    ...(options.username !== undefined && { username: options.username }),
    ...(options.password !== undefined && { password: options.password }),
  };

  if (options.cluster?.length) {
    const first = new URL(options.cluster[0]!);
    const tls = first.protocol === 'rediss:' ? { tls: {} } : {};
    return new (loadIoredis().Cluster)(options.cluster.map(hostPort), {
      lazyConnect: true,
      enableOfflineQueue: false,
      enableAutoPipelining: true,
      clusterRetryStrategy: (times) => Math.min(50 * 2 ** Math.min(times, 6), 2_000),
      redisOptions: {
        ...common,
        ...tls,
        ...(first.username &&
          options.username === undefined && { username: decodeURIComponent(first.username) }),
        ...(first.password &&
          options.password === undefined && { password: decodeURIComponent(first.password) }),
      },
    });
  }

  if (options.sentinels?.length) {
    return new (loadIoredis().Redis)({
      ...common,
      sentinels: options.sentinels.map(hostPort),
      name: options.name ?? 'mymaster',
      sentinelCommandTimeout: options.commandTimeout ?? options.connectTimeout,
    });
  }

  return new (loadIoredis().Redis)(options.url ?? 'redis://127.0.0.1:6379', common);
}
