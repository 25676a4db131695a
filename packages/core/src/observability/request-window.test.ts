import { describe, expect, it } from 'vitest';
import { quantile } from './quantile.js';
import { RequestWindow, WINDOW_MS } from './request-window.js';

describe('quantile', () => {
  it('interpolates inside the bucket that holds the rank', () => {
    expect(quantile([3, 1, 0], [10, 100], 0.5)).toBeCloseTo(6.667, 2);
    expect(quantile([0, 4, 0], [10, 100], 0.5)).toBe(55);
    expect(quantile([0, 0, 0], [10, 100], 0.5)).toBeUndefined();
  });

  it('reports values above every bound as the top bound', () => {
    expect(quantile([0, 0, 5], [10, 100], 0.99)).toBe(100);
  });
});

describe('RequestWindow', () => {
  const t0 = 1_700_000_000_000;

  it('counts requests and errors and estimates p50 and p99', () => {
    const w = new RequestWindow();
    for (let i = 0; i < 98; i++) w.record(3, false, t0);
    w.record(400, true, t0);
    w.record(900, true, t0);
    const s = w.summary(t0);
    expect(s).toMatchObject({ requests: 100, errors: 2 });
    expect(s.p50Ms).toBeGreaterThan(2);
    expect(s.p50Ms).toBeLessThanOrEqual(5);
    expect(s.p99Ms).toBeGreaterThan(200);
    expect(s.p99Ms).toBeLessThanOrEqual(500);
  });

  it('forgets what is older than the window, slot by slot', () => {
    const w = new RequestWindow();
    w.record(5, true, t0);
    w.record(5, false, t0 + WINDOW_MS / 2);
    expect(w.summary(t0 + WINDOW_MS / 2).requests).toBe(2);
    expect(w.summary(t0 + WINDOW_MS + 10_000)).toMatchObject({ requests: 1, errors: 0 });
    expect(w.summary(t0 + 3 * WINDOW_MS)).toEqual({ requests: 0, errors: 0, p50Ms: null, p99Ms: null });
  });

  it('keeps fifteen minutes slot by slot, oldest first, for charts', () => {
    const w = new RequestWindow();
    const slot = 10_000;
    w.record(4, false, t0 - 14 * 60_000);
    for (let i = 0; i < 10; i++) w.record(400, i < 3, t0 - slot);
    w.record(2, false, t0);
    const s = w.series(t0);
    expect(s.requests).toHaveLength(90);
    expect(s.requests.at(-1)).toBe(1);
    expect(s.requests.at(-2)).toBe(10);
    expect(s.errors.at(-2)).toBe(3);
    expect(s.p99Ms.at(-2)).toBeGreaterThan(200);
    expect(s.p99Ms.at(-3)).toBeNull();
    expect(s.requests.reduce((a, b) => a + b, 0)).toBe(12);
    // The summary looks five minutes back: the request of 14 minutes ago is only in the series.
    expect(w.summary(t0).requests).toBe(11);
    // Fifteen minutes on, all of it has left the series.
    expect(w.series(t0 + 15 * 60_000).requests.every((n) => n === 0)).toBe(true);
  });

  it('reuses a slot after a full turn instead of adding to its old counts', () => {
    const w = new RequestWindow();
    w.record(5, true, t0);
    w.record(5, false, t0 + 15 * 60_000);
    expect(w.summary(t0 + 15 * 60_000)).toMatchObject({ requests: 1, errors: 0 });
    expect(w.series(t0 + 15 * 60_000).errors.every((n) => n === 0)).toBe(true);
  });
});
