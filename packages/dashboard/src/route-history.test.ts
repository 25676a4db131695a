import { createGateway, createMetrics, HISTORY_SLOTS, SLOT_MS } from '@lucid/gateway-core';
import { describe, expect, it } from 'vitest';
import { point, RouteHistory } from './route-history.js';

describe('RouteHistory', () => {
  it('turns the route totals sampled at each slot into fifteen minutes of rates, 5xx shares and p99', async () => {
    // A gateway's own registry (never started), with request metrics of a prefix of this test's.
    const { registry } = createGateway({ services: {}, routes: [] });
    const metrics = createMetrics(registry, 't_');
    let now = 1_800_000_000_000; // a slot boundary
    const history = new RouteHistory(registry, 't_', () => now);
    history.start(); // samples the start of this slot
    history.stop();
    await new Promise((r) => setImmediate(r)); // the first sample's read of the registry
    for (let i = 0; i < 20; i++) metrics.requestFinished('/orders', 'GET', i < 5 ? 503 : 200, 0.004);
    now += 5_000; // half way into the slot
    const read = await history.read(now);
    expect(read.start).toBe((now - 5_000) / 1000 - (HISTORY_SLOTS - 1) * (SLOT_MS / 1000));
    const orders = read.routes['/orders']!;
    expect(orders.requestsPerSecond).toHaveLength(HISTORY_SLOTS);
    // The slot being filled: 20 requests in its first 5 seconds.
    expect(orders.requestsPerSecond.at(-1)).toBe(4);
    expect(orders.errorRate.at(-1)).toBe(0.25);
    expect(orders.p99Ms.at(-1)).toBeGreaterThan(1);
    expect(orders.p99Ms.at(-1)).toBeLessThanOrEqual(5);
    // Before it started, nothing is known: no rate, no share, no latency.
    expect(orders.requestsPerSecond.slice(0, -1).every((v) => v === 0)).toBe(true);
    expect(orders.errorRate.slice(0, -1).every((v) => v === null)).toBe(true);
  });

  it('a point without requests has no error rate or latency', () => {
    expect(point(0, 0, 12, 10)).toEqual([0, null, null]);
    expect(point(30, 3, 12, 10)).toEqual([3, 0.1, 12]);
  });
});
