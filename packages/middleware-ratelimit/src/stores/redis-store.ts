import type { ComponentHealth } from '@lucid/gateway-core';
import { type Cluster, Redis } from 'ioredis';
import { type ConsumeResult, intervalUs, type Policy, usToMs } from '../algorithm/gcra.js';
import { GCRA_LUA, GCRA_SHA } from './gcra-script.js';
import { createRedisClient, type RedisClient, type RedisConnectionOptions } from './redis-connection.js';
import { describeRedisError } from './redis-errors.js';
import type { RateLimitStore } from './types.js';

export type RedisStoreOptions =
  | (Partial<RedisConnectionOptions> & { client?: undefined })
  | {
      /** An ioredis client (standalone, Sentinel or Cluster) owned by the caller; `close()` leaves it open. */
      client: RedisClient;
    };

type Reply = [number, number, number, number];

/**
 * GCRA in Redis: one Lua script, loaded once (`SCRIPT LOAD`) and run with `EVALSHA`; when a node
 * has lost it (`SCRIPT FLUSH`, restart, failover), one `EVAL` runs and caches it again. The script
 * reads Redis `TIME`, so gateways with skewed clocks agree. Keys are written with a TTL; pass keys
 * with a hash tag (`prefix{id}`) so they stay on one slot in a Cluster.
 *
 * @example
 * const store = new RedisStore({ url: 'redis://127.0.0.1:6379', commandTimeout: 50 });
 * await store.connect();
 * const r = await store.consume('lucid:rl:{u:alice}', { limit: 100, windowMs: 60_000 });
 */
export class RedisStore implements RateLimitStore {
  readonly name = 'redis';
  readonly client: RedisClient;
  readonly #owned: boolean;
  #lastConnectionError: unknown;

  constructor(options: RedisStoreOptions = {}) {
    if (options.client) {
      this.client = options.client;
      this.#owned = false;
    } else {
      const o = options as Partial<RedisConnectionOptions>;
      this.client = createRedisClient({
        ...o,
        commandTimeout: o.commandTimeout ?? 50,
        connectTimeout: o.connectTimeout ?? 2_000,
      });
      this.#owned = true;
    }
    // Without a listener ioredis would report each failed reconnect as an unhandled 'error'; the
    // last one is kept to say why Redis is down.
    this.client.on('error', (err) => {
      this.#lastConnectionError = err;
    });
    // Loaded on every (re)connect, before any request on that connection, so EVALSHA normally just works.
    this.client.on('ready', () => {
      this.#lastConnectionError = undefined;
      this.#loadScript().catch(() => {});
    });
  }

  /** Connects; rejects when Redis cannot be reached (reconnects go on in the background). */
  async connect(): Promise<void> {
    const status = this.client.status;
    if (status === 'wait' || status === 'end') {
      await this.client.connect();
    } else if (status !== 'ready') {
      await new Promise<void>((resolve, reject) => {
        const onReady = () => {
          this.client.off('error', onError);
          resolve();
        };
        const onError = (err: Error) => {
          this.client.off('ready', onReady);
          reject(err);
        };
        this.client.once('ready', onReady);
        this.client.once('error', onError);
      });
    }
  }

  async consume(key: string, policy: Policy, cost = 1): Promise<ConsumeResult> {
    const args = [String(intervalUs(policy)), String(policy.limit), String(cost)];
    let reply: Reply;
    try {
      reply = (await this.client.evalsha(GCRA_SHA, 1, key, ...args)) as Reply;
    } catch (err) {
      if (!String((err as Error)?.message).startsWith('NOSCRIPT')) throw err;
      // EVAL runs the script and caches it on the node that owns the key, so EVALSHA works again.
      reply = (await this.client.eval(GCRA_LUA, 1, key, ...args)) as Reply;
    }
    return {
      allowed: reply[0] === 1,
      limit: policy.limit,
      remaining: reply[1],
      resetMs: usToMs(reply[2]),
      retryAfterMs: usToMs(reply[3]),
    };
  }

  async health(): Promise<ComponentHealth> {
    const started = performance.now();
    try {
      await this.client.ping();
      return {
        healthy: true,
        detail: {
          store: this.name,
          status: this.client.status,
          latencyMs: Math.round(performance.now() - started),
        },
      };
    } catch (err) {
      return {
        healthy: false,
        detail: { store: this.name, status: this.client.status, error: this.describeError(err) },
      };
    }
  }

  /** Why a command failed, in plain words (no ioredis phrase, no address). */
  describeError(err: unknown): string {
    return describeRedisError(err, this.#lastConnectionError);
  }

  async close(): Promise<void> {
    if (!this.#owned || this.client.status === 'end') return;
    // A client that never connected has nothing to say goodbye to (and QUIT would make it connect).
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

  async #loadScript(): Promise<void> {
    const nodes: Array<Redis | Cluster> =
      this.client instanceof Redis ? [this.client] : this.client.nodes('master');
    await Promise.all(nodes.map((node) => node.script('LOAD', GCRA_LUA)));
  }
}
