import { afterEach, describe, expect, it } from 'vitest';
import { MemoryStore } from './memory-store.js';

const perMinute = (limit: number) => ({ limit, windowMs: 60_000 });

describe('MemoryStore', () => {
  let store: MemoryStore | undefined;
  afterEach(async () => {
    await store?.close();
    store = undefined;
  });

  it('admits exactly `limit` of limit+N concurrent calls', async () => {
    store = new MemoryStore();
    const results = await Promise.all(Array.from({ length: 130 }, () => store!.consume('k', perMinute(100))));
    expect(results.filter((r) => r.allowed)).toHaveLength(100);
    const denied = results.find((r) => !r.allowed)!;
    expect(denied).toMatchObject({ limit: 100, remaining: 0 });
    expect(denied.retryAfterMs).toBeGreaterThan(0);
  });

  it('does not admit twice the limit across a window edge', () => {
    let now = 0;
    store = new MemoryStore({ now: () => now });
    const policy = { limit: 10, windowMs: 1_000 };
    // The whole budget just before a fixed window's edge would have been...
    now = 999;
    const before = Array.from({ length: 20 }, () => store!.consumeSync('k', policy)).filter(
      (r) => r.allowed,
    ).length;
    // ...and a fixed-window counter would admit 10 more just after it. GCRA admits what refilled: 2 ms worth, none.
    now = 1_001;
    const after = Array.from({ length: 20 }, () => store!.consumeSync('k', policy)).filter(
      (r) => r.allowed,
    ).length;
    expect(before).toBe(10);
    expect(after).toBe(0);
    // Half a window later, half the budget is back.
    now = 1_499;
    expect(
      Array.from({ length: 20 }, () => store!.consumeSync('k', policy)).filter((r) => r.allowed).length,
    ).toBe(5);
  });

  it('keeps keys apart and reports reset', () => {
    let now = 0;
    store = new MemoryStore({ now: () => now });
    expect(store.consumeSync('a', perMinute(2))).toMatchObject({
      allowed: true,
      remaining: 1,
      resetMs: 30_000,
    });
    expect(store.consumeSync('a', perMinute(2))).toMatchObject({
      allowed: true,
      remaining: 0,
      resetMs: 60_000,
    });
    expect(store.consumeSync('a', perMinute(2))).toMatchObject({ allowed: false, retryAfterMs: 30_000 });
    expect(store.consumeSync('b', perMinute(2)).allowed).toBe(true);
    now = 30_000;
    expect(store.consumeSync('a', perMinute(2))).toMatchObject({ allowed: true, remaining: 0 });
  });

  it('stays bounded: evicts the least recently admitted key beyond maxKeys', () => {
    store = new MemoryStore({ maxKeys: 3, now: () => 0 });
    for (const k of ['a', 'b', 'c']) store.consumeSync(k, perMinute(2));
    expect(store.consumeSync('a', perMinute(2)).allowed).toBe(true); // 'a' is now the most recent
    store.consumeSync('d', perMinute(2));
    expect(store.size).toBe(3);
    // 'b' was evicted, so it starts afresh with its full budget; 'a' and 'c' kept their state.
    expect(store.consumeSync('a', perMinute(2)).allowed).toBe(false);
    expect(store.consumeSync('c', perMinute(2)).remaining).toBe(0);
    expect(store.consumeSync('b', perMinute(2)).remaining).toBe(1);
  });

  it('sweeps keys whose budget is full again', () => {
    let now = 0;
    store = new MemoryStore({ now: () => now });
    store.consumeSync('short', { limit: 1, windowMs: 1_000 });
    store.consumeSync('long', perMinute(1));
    now = 1_000;
    store.sweep();
    expect(store.size).toBe(1);
    now = 60_000;
    store.sweep();
    expect(store.size).toBe(0);
  });
});
