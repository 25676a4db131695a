import { type ComponentHealth, DependencyBreaker, withDeadline } from '@lucid/gateway-core';
import type { Cluster, Redis } from 'ioredis';
import { type ConsumeResult, intervalUs, type Policy, usToMs } from '../algorithm/gcra.js';
import { GCRA_LUA, GCRA_SHA } from './gcra-script.js';
import {
  createRedisClient,
  loadIoredis,
  type RedisClient,
  type RedisConnectionOptions,
} from './redis-connection.js';
import { describeRedisError } from './redis-errors.js';
import type { RateLimitStore } from './types.js';

export interface RedisStoreTimings {
  /**
   * Longest wait for one reply before the store gives up on it (a hung server). Generous: a
   * slow reply is still a reply, and only a server that is down or stuck should decide by fallback.
   */
  commandTimeout?: number;
  /** A reply slower than this is reported to `onSlowReply` (and still used). */
  slowReply?: number;
  /**
   * Most commands awaiting a reply, timed-out ones included (a hung server still holds them):
   * past it a call fails at once, so a stuck Redis cannot make the process hold without bound.
   */
  maxPending?: number;
  /**
   * Consecutive timeouts after which the store fails at once (to `onStoreError`) instead of each
   * call waiting `commandTimeout`, while one PING every `breakerCooldown` tests Redis.
   */
  breakerFailures?: number;
  breakerCooldown?: number;
}

export type RedisStoreOptions = RedisStoreTimings &
  (
    | (Partial<Omit<RedisConnectionOptions, 'commandTimeout'>> & { client?: undefined })
    | {
        /** An ioredis client (standalone, Sentinel or Cluster) owned by the caller; `close()` leaves it open. */
        client: RedisClient;
      }
  );

export const REDIS_STORE_DEFAULTS = {
  commandTimeout: 1_000,
  slowReply: 50,
  maxPending: 10_000,
  connectTimeout: 2_000,
  breakerFailures: 3,
  breakerCooldown: 1_000,
} as const;

/**
 * Redis is not connected (connecting, reconnecting, closed), or holds `maxPending` unanswered
 * commands: the store fails at once, sending nothing.
 */
export class StoreUnavailableError extends Error {
  readonly code = 'ERR_LUCID_STORE_UNAVAILABLE';
  constructor(reason: string) {
    super(`redis unavailable: ${reason}`);
    this.name = 'StoreUnavailableError';
  }
}

/** Redis is connected but sent no reply within the command timeout (a hung or stopped server). */
export class StoreTimeoutError extends Error {
  readonly code = 'ERR_LUCID_STORE_TIMEOUT';
  constructor(ms: number) {
    super(`redis command timed out after ${ms} ms`);
    this.name = 'StoreTimeoutError';
  }
}

type Reply = [number, number, number, number];

/**
 * GCRA in Redis: one Lua script, loaded once (`SCRIPT LOAD`) and run with `EVALSHA`; when a node
 * has lost it (`SCRIPT FLUSH`, restart, failover), one `EVAL` runs and caches it again. The script
 * reads Redis `TIME`, so gateways with skewed clocks agree. Keys are written with a TTL; pass keys
 * with a hash tag (`prefix{id}`) so they stay on one slot in a Cluster.
 *
 * Whether Redis decides is a matter of the connection's state, not of one reply's latency: while
 * the client is not `ready` a call fails at once (the caller's fallback decides); while it is, a
 * call waits for its reply up to `commandTimeout` (default 1 s, for a server that hangs with its
 * socket open). Replies slower than `slowReply` are reported to `onSlowReply`.
 *
 * @example
 * const store = new RedisStore({ url: 'redis://127.0.0.1:6379', commandTimeout: 1_000 });
 * await store.connect();
 * const r = await store.consume('lucid:rl:{u:alice}', { limit: 100, windowMs: 60_000 });
 */
export class RedisStore implements RateLimitStore {
  readonly name = 'redis';
  readonly client: RedisClient;
  /** Called with the latency (ms) of each reply slower than `slowReply`. */
  onSlowReply: ((ms: number) => void) | undefined;
  readonly #owned: boolean;
  readonly #commandTimeout: number;
  readonly #slowReply: number;
  readonly #maxPending: number;
  readonly #timedOut: () => Error;
  #pending = 0;
  #lastConnectionError: unknown;
  /** Opens after consecutive timeouts: a hung Redis costs a few timeouts, not one per request. */
  readonly breaker: DependencyBreaker;
  /** Commands given up on after `commandTimeout` (probes not included). */
  timedOut = 0;

  constructor(options: RedisStoreOptions = {}) {
    this.#commandTimeout = options.commandTimeout ?? REDIS_STORE_DEFAULTS.commandTimeout;
    this.#slowReply = options.slowReply ?? REDIS_STORE_DEFAULTS.slowReply;
    this.#maxPending = options.maxPending ?? REDIS_STORE_DEFAULTS.maxPending;
    this.#timedOut = () => new StoreTimeoutError(this.#commandTimeout);
    this.breaker = new DependencyBreaker({
      failures: options.breakerFailures ?? REDIS_STORE_DEFAULTS.breakerFailures,
      cooldown: options.breakerCooldown ?? REDIS_STORE_DEFAULTS.breakerCooldown,
      probe: () => withDeadline(this.client.ping(), this.#commandTimeout, this.#timedOut),
    });
    if (options.client) {
      this.client = options.client;
      this.#owned = false;
    } else {
      const o = options as Partial<RedisConnectionOptions>;
      // No ioredis command timeout: its timer runs before the loop reads sockets, so on a busy
      // process it fails replies that have already arrived. The store's own deadline does not.
      this.client = createRedisClient({
        ...o,
        commandTimeout: undefined,
        connectTimeout: o.connectTimeout ?? REDIS_STORE_DEFAULTS.connectTimeout,
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
    const status = this.client.status;
    if (status !== 'ready') throw new StoreUnavailableError(`connection is ${status}`);
    if (this.#pending >= this.#maxPending) {
      throw new StoreUnavailableError(`${this.#pending} commands await a reply`);
    }
    if (!this.breaker.allows())
      throw new StoreUnavailableError('it stopped answering; probing in the background');
    const args = [String(intervalUs(policy)), String(policy.limit), String(cost)];
    const started = performance.now();
    let reply: Reply;
    try {
      reply = await withDeadline(this.#run(key, args), this.#commandTimeout, this.#timedOut);
    } catch (err) {
      if (err instanceof StoreTimeoutError) {
        this.timedOut++;
        this.breaker.timedOut();
      }
      throw err;
    }
    this.breaker.succeeded();
    const ms = performance.now() - started;
    if (ms >= this.#slowReply) this.onSlowReply?.(ms);
    return {
      allowed: reply[0] === 1,
      limit: policy.limit,
      remaining: reply[1],
      resetMs: usToMs(reply[2]),
      retryAfterMs: usToMs(reply[3]),
    };
  }

  /** Runs the script; counted as pending until Redis answers or the connection drops, whatever the deadline did. */
  async #run(key: string, args: string[]): Promise<Reply> {
    this.#pending++;
    try {
      return (await this.client.evalsha(GCRA_SHA, 1, key, ...args)) as Reply;
    } catch (err) {
      if (!String((err as Error)?.message).startsWith('NOSCRIPT')) throw err;
      // EVAL runs the script and caches it on the node that owns the key, so EVALSHA works again.
      return (await this.client.eval(GCRA_LUA, 1, key, ...args)) as Reply;
    } finally {
      this.#pending--;
    }
  }

  async health(): Promise<ComponentHealth> {
    const started = performance.now();
    try {
      await withDeadline(this.client.ping(), this.#commandTimeout, this.#timedOut);
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
    this.breaker.close();
    if (!this.#owned || this.client.status === 'end') return;
    // A client that never connected has nothing to say goodbye to (and QUIT would make it connect).
    if (this.client.status === 'wait') {
      this.client.disconnect();
      return;
    }
    try {
      // A hung server never answers QUIT: it gets the command timeout, then the socket is cut.
      await withDeadline(this.client.quit(), this.#commandTimeout, this.#timedOut);
    } catch {
      this.client.disconnect();
    }
  }

  async #loadScript(): Promise<void> {
    const nodes: Array<Redis | Cluster> =
      this.client instanceof loadIoredis().Redis ? [this.client] : this.client.nodes('master');
    await Promise.all(nodes.map((node) => node.script('LOAD', GCRA_LUA)));
  }
}
