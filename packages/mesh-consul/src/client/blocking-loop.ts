import { setTimeout as sleep } from 'node:timers/promises';
import { backoffDelay } from './backoff.js';
import type { BlockingParams, Indexed } from './consul-client.js';

export interface BlockingLoopOptions<T> {
  /** One read at `index` (0: read at once). */
  read(params: BlockingParams): Promise<Indexed<T>>;
  /** Every successful answer, changed or not (a repeat after an outage still proves Consul is back). */
  onAnswer(body: T, info: { changed: boolean }): void;
  /** A failed read; the loop retries after a backoff. */
  onError(err: unknown, attempt: number): void;
  wait: number;
  backoff: { min: number; max: number };
  /** Least time between the starts of two reads (default 100ms). */
  minInterval?: number;
  /**
   * Least time between two reads when the index did not change (default 1s): a blocking read
   * that returns early without a change (an idempotent write, or a proxy that does not block)
   * must not turn into a busy loop.
   */
  unchangedInterval?: number;
  /** How the loop waits (tests observe the delays through it). */
  pause?: (ms: number, signal: AbortSignal) => Promise<void>;
}

export interface BlockingLoop {
  /** Stops the loop and aborts its in-flight read. */
  stop(): void;
  /** Settles once the loop has ended after stop(). */
  readonly done: Promise<void>;
}

/**
 * Follows one Consul resource with blocking queries, as Consul's docs ask: pass the last
 * `X-Consul-Index` with `wait`, reset to 0 when the index goes backwards, never send 0 after
 * a read, rate-limit reads, and back off with jitter on errors (then read at once, unblocked).
 *
 * @example
 * const loop = blockingLoop({ read: (p) => api.health({ service: 'sessions' }, p), onAnswer, onError, wait: 55_000, backoff })
 * loop.stop()
 */
export function blockingLoop<T>(opts: BlockingLoopOptions<T>): BlockingLoop {
  const controller = new AbortController();
  const { signal } = controller;
  const minInterval = opts.minInterval ?? 100;
  const unchangedInterval = opts.unchangedInterval ?? 1_000;
  const wait = opts.pause ?? pause;

  async function run(): Promise<void> {
    // The first read goes out on the next turn: a loop stopped right after it was made (a reload
    // refused while starting) sends nothing, and opens no connection that would outlive it.
    await new Promise<void>((resolve) => setImmediate(resolve));
    let index = 0n;
    let failures = 0;
    let changed = true;
    while (!signal.aborted) {
      const started = performance.now();
      try {
        const answer = await opts.read({ index, wait: opts.wait, signal });
        if (signal.aborted) return;
        failures = 0;
        const next = nextIndex(index, answer.index);
        changed = next !== index;
        index = next;
        opts.onAnswer(answer.body, { changed });
      } catch (err) {
        if (signal.aborted) return;
        failures += 1;
        // Read at once after a failure: a blocking read would hide Consul's recovery for up to `wait`.
        index = 0n;
        opts.onError(err, failures);
        await wait(backoffDelay(failures, opts.backoff), signal);
        continue;
      }
      const gap = changed ? minInterval : unchangedInterval;
      const rest = gap - (performance.now() - started);
      if (rest > 0) await wait(rest, signal);
    }
  }

  const done = run().catch(() => {});
  return {
    stop() {
      controller.abort();
    },
    done,
  };
}

/** The index to send next, given the one sent and the one Consul answered with. */
export function nextIndex(sent: bigint, received: bigint | undefined): bigint {
  if (received === undefined) return sent > 0n ? sent : 1n;
  // Went backwards (e.g. a server restored from a snapshot): start over with a non-blocking read.
  if (received < sent) return 0n;
  // 0 would make every following read return at once.
  if (received <= 0n) return 1n;
  return received;
}

async function pause(ms: number, signal: AbortSignal): Promise<void> {
  if (ms <= 0 || signal.aborted) return;
  await sleep(ms, undefined, { signal }).catch(() => {});
}
