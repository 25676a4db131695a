import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { backoffDelay, blockingLoop, nextIndex } from '../src/index.js';

describe('nextIndex', () => {
  it('follows the index Consul answered with', () => {
    expect(nextIndex(0n, 42n)).toBe(42n);
    expect(nextIndex(42n, 43n)).toBe(43n);
    expect(nextIndex(42n, 42n)).toBe(42n);
  });

  it('resets to 0 when the index goes backwards', () => {
    expect(nextIndex(42n, 7n)).toBe(0n);
  });

  it('never sends 0 again after a read (it would make every read return at once)', () => {
    expect(nextIndex(0n, 0n)).toBe(1n);
    expect(nextIndex(0n, undefined)).toBe(1n);
    expect(nextIndex(5n, undefined)).toBe(5n);
  });
});

describe('backoffDelay', () => {
  it('grows exponentially within [cap/2, cap], capped at max', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 60 }),
        fc.double({ min: 0, max: 0.999_999, noNaN: true }),
        (attempt, r) => {
          const range = { min: 500, max: 30_000 };
          const cap = Math.min(range.max, range.min * 2 ** (attempt - 1));
          const delay = backoffDelay(attempt, range, () => r);
          return delay >= Math.floor(cap / 2) && delay <= cap;
        },
      ),
    );
    expect(backoffDelay(1, { min: 500, max: 30_000 }, () => 0)).toBe(250);
    expect(backoffDelay(20, { min: 500, max: 30_000 }, () => 0.999_999)).toBe(30_000);
  });
});

describe('blockingLoop', () => {
  it('sends the last index with wait, and resets when the index goes backwards', async () => {
    const answers = [10n, 11n, 3n, 4n];
    const sent: Array<{ index: bigint; wait: number }> = [];
    let finish!: () => void;
    const finished = new Promise<void>((r) => {
      finish = r;
    });
    const loop = blockingLoop<number>({
      read: async ({ index, wait, signal }) => {
        sent.push({ index, wait });
        const next = answers.shift();
        if (next === undefined) {
          finish();
          return new Promise((_resolve, reject) =>
            signal.addEventListener('abort', () => reject(signal.reason)),
          );
        }
        return { body: 1, index: next };
      },
      onAnswer() {},
      onError() {},
      wait: 1_000,
      backoff: { min: 10, max: 10 },
      minInterval: 0,
    });
    await finished;
    loop.stop();
    await loop.done;
    expect(sent.map((s) => s.index)).toEqual([0n, 10n, 11n, 0n, 4n]);
    expect(sent.every((s) => s.wait === 1_000)).toBe(true);
  });

  it('never spins: an unchanged index waits out the longer gap, a change only the short one', async () => {
    // An agent that ignores blocking: every read answers at once, mostly with the same index.
    const answers = [5n, 5n, 6n, 6n];
    const pauses: number[] = [];
    let finish!: () => void;
    const finished = new Promise<void>((r) => {
      finish = r;
    });
    const loop = blockingLoop<number>({
      read: async ({ signal }) => {
        const next = answers.shift();
        if (next === undefined) {
          finish();
          return new Promise((_resolve, reject) =>
            signal.addEventListener('abort', () => reject(signal.reason)),
          );
        }
        return { body: 1, index: next };
      },
      onAnswer() {},
      onError() {},
      wait: 60_000,
      backoff: { min: 10, max: 10 },
      minInterval: 100,
      unchangedInterval: 1_000,
      pause: async (ms) => {
        pauses.push(ms);
      },
    });
    await finished;
    loop.stop();
    await loop.done;
    // 0->5 changed, 5->5 unchanged, 5->6 changed, 6->6 unchanged.
    expect(pauses).toHaveLength(4);
    expect(pauses[0]).toBeLessThanOrEqual(100);
    expect(pauses[1]).toBeGreaterThan(900);
    expect(pauses[2]).toBeLessThanOrEqual(100);
    expect(pauses[3]).toBeGreaterThan(900);
  });

  it('reports failures with their attempt count and recovers', async () => {
    const attempts: number[] = [];
    let calls = 0;
    let recovered!: () => void;
    const done = new Promise<void>((r) => {
      recovered = r;
    });
    const loop = blockingLoop<string>({
      read: async () => {
        calls += 1;
        if (calls <= 3) throw Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' });
        return { body: 'ok', index: 5n };
      },
      onAnswer: () => recovered(),
      onError: (_err, attempt) => attempts.push(attempt),
      wait: 1_000,
      backoff: { min: 1, max: 4 },
    });
    await done;
    loop.stop();
    await loop.done;
    expect(attempts).toEqual([1, 2, 3]);
  });

  it('aborts the in-flight read on stop', async () => {
    let aborted = false;
    let started!: () => void;
    const reading = new Promise<void>((r) => {
      started = r;
    });
    const loop = blockingLoop<string>({
      read: ({ signal }) =>
        new Promise((_resolve, reject) => {
          started();
          signal.addEventListener('abort', () => {
            aborted = true;
            reject(new Error('aborted'));
          });
        }),
      onAnswer() {},
      onError() {
        throw new Error('an abort is not an error');
      },
      wait: 1_000,
      backoff: { min: 1, max: 1 },
    });
    await reading;
    loop.stop();
    await loop.done;
    expect(aborted).toBe(true);
  });
});
