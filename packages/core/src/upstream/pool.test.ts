import pino from 'pino';
import { Registry } from 'prom-client';
import { afterEach, describe, expect, it } from 'vitest';
import { composeConfigSchema } from '../config/plugin-schema.js';

// Services whose targets come from a discovery plugin (here one that only declares its kind).
const serviceSchema = composeConfigSchema([{ name: 'test-discovery', discovery: ['dynamic'] }]).service;

import { isGatewayError } from '../errors.js';
import { createMetrics, type GatewayMetrics } from '../observability/metrics.js';
import type { Probe } from './health-probe.js';
import { type PoolDeps, targetFromUrl, UpstreamPool } from './pool.js';
import type { TargetState } from './target-state.js';

const A = 'http://10.0.0.1:8080';
const B = 'http://10.0.0.2:8080';
const C = 'http://10.0.0.3:8080';

interface Harness {
  pool: UpstreamPool;
  clock: { now: number };
  health: Map<string, boolean>;
  /** What each probe should answer, by target id (default: healthy). */
  probeAnswers: Map<string, boolean>;
  /** Breaker openings and ejections as the metrics heard them: `breaker_opened <target>`. */
  events: string[];
}

const pools: UpstreamPool[] = [];
afterEach(async () => {
  await Promise.all(pools.splice(0).map((p) => p.stop()));
});

function harness(service: Record<string, unknown>, extra: Partial<PoolDeps> = {}): Harness {
  const clock = { now: 1_000_000 };
  const health = new Map<string, boolean>();
  const probeAnswers = new Map<string, boolean>();
  const events: string[] = [];
  const metrics: GatewayMetrics = {
    requestStarted() {},
    requestFinished() {},
    upstreamFinished() {},
    grpcFinished() {},
    targetHealth(_service, target, healthy) {
      health.set(target, healthy);
    },
    targetRemoved(_service, target) {
      health.delete(target);
    },
    targetEvent(_service, target, event) {
      events.push(`${event} ${target}`);
    },
  };
  const probe: Probe = async (url) => probeAnswers.get(url.origin) ?? true;
  const pool = new UpstreamPool('svc', serviceSchema.parse(service), {
    logger: pino({ level: 'silent' }),
    metrics,
    now: () => clock.now,
    probe,
    ...extra,
  });
  pools.push(pool);
  return { pool, clock, health, probeAnswers, events };
}

/** Picks and releases `n` times with the given outcome for each target, counting picks per target id. */
function drive(
  pool: UpstreamPool,
  n: number,
  outcome: (id: string) => Parameters<UpstreamPool['release']>[1] = () => 'ok',
) {
  const counts: Record<string, number> = {};
  for (let i = 0; i < n; i++) {
    const s = pool.pick();
    counts[s.target.id] = (counts[s.target.id] ?? 0) + 1;
    pool.release(s, outcome(s.target.id));
  }
  return counts;
}

function failTimes(
  pool: UpstreamPool,
  id: string,
  n: number,
  outcome: Parameters<UpstreamPool['release']>[1],
) {
  for (let i = 0; i < n; i++) {
    const s = pickTarget(pool, id);
    pool.release(s, outcome);
  }
}

/** Picks until the balancer hands out `id` (releasing the others as ok). */
function pickTarget(pool: UpstreamPool, id: string): TargetState {
  for (let i = 0; i < 1_000; i++) {
    const s = pool.pick();
    if (s.target.id === id) return s;
    pool.release(s, 'ok');
  }
  throw new Error(`${id} was never picked`);
}

function caught(fn: () => unknown): unknown {
  try {
    fn();
  } catch (err) {
    return err;
  }
  throw new Error('expected a throw');
}

describe('UpstreamPool: targets and balancing', () => {
  it('builds static targets from the config, with weights', () => {
    const { pool } = harness({ targets: [A, { url: `${B}/ignored-path`, weight: 3 }] });
    expect(pool.targets().map((t) => [t.id, t.weight])).toEqual([
      [A, 1],
      [B, 3],
    ]);
  });

  it('spreads load over every target (least-request, the default)', () => {
    const { pool } = harness({ targets: [A, B, C] });
    const counts = drive(pool, 3_000);
    for (const id of [A, B, C]) expect(counts[id]).toBeGreaterThan(850);
  });

  it('sends the next request to the less busy target', () => {
    const { pool } = harness({ targets: [A, B] });
    const held = pickTarget(pool, A);
    for (let i = 0; i < 20; i++) {
      const s = pool.pick();
      expect(s.target.id).toBe(B);
      pool.release(s, 'ok');
    }
    pool.release(held, 'ok');
  });

  it('round-robins by weight when configured', () => {
    const { pool } = harness({ targets: [{ url: A, weight: 3 }, B], balancer: 'round-robin' });
    const order = Array.from({ length: 8 }, () => {
      const s = pool.pick();
      pool.release(s, 'ok');
      return s.target.id === A ? 'a' : 'b';
    }).join('');
    expect(order).toBe('aabaaaba');
  });

  it('swaps targets atomically: known ones keep their state, removed ones are never picked again', () => {
    const { pool, clock, health } = harness({ discovery: 'dynamic' });
    expect(pool.targets()).toEqual([]);
    pool.setTargets([targetFromUrl(A), targetFromUrl(B)]);
    expect(health.get(A)).toBe(true);
    const held = pickTarget(pool, A);
    failTimes(pool, B, 5, 'http-5xx'); // B ejected
    pool.setTargets([targetFromUrl(B, 2), targetFromUrl(C)]);
    expect(pool.targets().map((t) => [t.id, t.weight])).toEqual([
      [B, 2],
      [C, 1],
    ]);
    // B keeps its ejection across the swap; A is gone, its health series too.
    expect(pool.snapshot().find((t) => t.target === B)?.ejected).toBe(true);
    expect(health.has(A)).toBe(false);
    for (let i = 0; i < 50; i++) {
      const s = pool.pick();
      expect(s.target.id).toBe(C);
      pool.release(s, 'ok');
    }
    pool.release(held, 'ok'); // a request that started on a removed target finishes without harm
    clock.now += 10_001;
    expect(drive(pool, 200)[B]).toBeGreaterThan(0);
  });

  it('answers 503 when discovery has no targets', () => {
    const { pool } = harness({ discovery: 'dynamic' });
    const err = caught(() => pool.pick());
    expect(isGatewayError(err) && err.status).toBe(503);
    expect(pool.healthy()).toBe(false);
  });
});

describe('UpstreamPool: passive outlier detection', () => {
  it('ejects a target after consecutive 5xx, and takes it back when the ejection ends', () => {
    const { pool, clock, health, events } = harness({ targets: [A, B] });
    failTimes(pool, A, 4, 'http-5xx');
    expect(pool.snapshot()[0]?.ejected).toBe(false);
    expect(events).toEqual([]);
    failTimes(pool, A, 1, 'http-5xx');
    expect(pool.snapshot()[0]).toMatchObject({ target: A, ejected: true, available: false });
    expect(events).toEqual([`ejected ${A}`]);
    expect(health.get(A)).toBe(false);
    expect(drive(pool, 100)[A]).toBeUndefined();
    clock.now += 10_000;
    expect(drive(pool, 100)[A]).toBeGreaterThan(0);
  });

  it('counts connect failures and lost connections too, and a success resets the count', () => {
    const { pool } = harness({ targets: [A, B] });
    failTimes(pool, A, 4, 'unavailable');
    failTimes(pool, A, 1, 'ok');
    failTimes(pool, A, 4, 'error');
    expect(pool.snapshot()[0]?.ejected).toBe(false);
    failTimes(pool, A, 1, 'unavailable');
    expect(pool.snapshot()[0]?.ejected).toBe(true);
  });

  it('ejects for longer each time, up to maxEjection, and forgives after a long clean run', () => {
    const { pool, clock } = harness({
      targets: [A, B],
      outlier: { failures: 1, ejection: '1s', maxEjection: '3s' },
      breaker: { failures: 100 },
    });
    const ejectedFor = () => {
      failTimes(pool, A, 1, 'http-5xx');
      const start = clock.now;
      while (pool.snapshot()[0]?.ejected) clock.now += 100;
      return clock.now - start;
    };
    expect(ejectedFor()).toBe(1_000);
    expect(ejectedFor()).toBe(2_000);
    expect(ejectedFor()).toBe(3_000);
    expect(ejectedFor()).toBe(3_000);
    clock.now += 3_001;
    expect(ejectedFor()).toBe(1_000);
  });

  it('never ejects the last target that can take traffic', () => {
    const { pool } = harness({ targets: [A, B] });
    failTimes(pool, A, 5, 'http-5xx');
    expect(pool.snapshot()[0]?.ejected).toBe(true);
    for (let i = 0; i < 20; i++) pool.release(pool.pick(), 'http-5xx');
    expect(pool.snapshot()[1]).toMatchObject({ target: B, ejected: false });
    const single = harness({ targets: [A] }).pool;
    for (let i = 0; i < 20; i++) single.release(single.pick(), 'http-5xx');
    expect(single.snapshot()[0]?.ejected).toBe(false);
  });

  it('falls back to out-of-rotation targets rather than refusing (panic)', () => {
    const { pool, probeAnswers } = harness({
      targets: [A, B],
      health: { path: '/h', unhealthyThreshold: 1 },
    });
    probeAnswers.set(A, false);
    probeAnswers.set(B, false);
    return pool.checkNow().then(() => {
      expect(pool.snapshot().every((t) => !t.healthy)).toBe(true);
      const counts = drive(pool, 100);
      expect(counts[A]! + counts[B]!).toBe(100);
      expect(pool.healthy()).toBe(false);
    });
  });
});

describe('UpstreamPool: circuit breaker', () => {
  const breakerService = { targets: [A], breaker: { failures: 3, cooldown: '2s' } };

  it('opens after consecutive connect failures or timeouts and answers 503 at once', () => {
    const { pool, health, events } = harness(breakerService);
    failTimes(pool, A, 2, 'unavailable');
    expect(events).toEqual([]);
    failTimes(pool, A, 1, 'timeout');
    expect(events).toEqual([`breaker_opened ${A}`]);
    const err = caught(() => pool.pick());
    expect(isGatewayError(err) && [err.code, err.status, err.headers?.['retry-after']]).toEqual([
      'GW_UPSTREAM_UNAVAILABLE',
      503,
      '2',
    ]);
    expect(pool.healthy()).toBe(false);
    expect(health.get(A)).toBe(false);
    expect(pool.snapshot()[0]?.breaker).toBe('open');
  });

  it('is not opened by answers (5xx) or by lost connections', () => {
    const { pool } = harness(breakerService);
    failTimes(pool, A, 10, 'http-5xx');
    failTimes(pool, A, 10, 'error');
    failTimes(pool, A, 2, 'unavailable');
    failTimes(pool, A, 1, 'http-5xx'); // the target answered: the failure streak ends
    failTimes(pool, A, 2, 'unavailable');
    expect(pool.snapshot()[0]?.breaker).toBe('closed');
  });

  it('lets one probe through after the cooldown; a success closes it', () => {
    const { pool, clock, health } = harness(breakerService);
    failTimes(pool, A, 3, 'unavailable');
    clock.now += 2_000;
    const probe = pool.pick();
    expect(pool.snapshot()[0]?.breaker).toBe('half-open');
    expect(isGatewayError(caught(() => pool.pick()))).toBe(true); // one probe at a time
    pool.release(probe, 'ok');
    expect(pool.snapshot()[0]?.breaker).toBe('closed');
    expect(health.get(A)).toBe(true);
    drive(pool, 10);
  });

  it('re-opens for twice as long when the probe fails', () => {
    const { pool, clock } = harness(breakerService);
    failTimes(pool, A, 3, 'unavailable');
    clock.now += 2_000;
    pool.release(pool.pick(), 'unavailable');
    const err = caught(() => pool.pick());
    expect(isGatewayError(err) && err.headers?.['retry-after']).toBe('4');
    clock.now += 3_999;
    expect(isGatewayError(caught(() => pool.pick()))).toBe(true);
    clock.now += 1;
    pool.release(pool.pick(), 'ok');
    expect(pool.snapshot()[0]?.breaker).toBe('closed');
  });

  it('lets another probe through when the probing client went away', () => {
    const { pool, clock } = harness(breakerService);
    failTimes(pool, A, 3, 'unavailable');
    clock.now += 2_000;
    pool.release(pool.pick(), 'aborted');
    pool.release(pool.pick(), 'ok');
    expect(pool.snapshot()[0]?.breaker).toBe('closed');
  });

  it('keeps serving from the other targets while one breaker is open', () => {
    const { pool } = harness({ targets: [A, B], breaker: { failures: 2 }, outlier: { failures: 100 } });
    failTimes(pool, A, 2, 'unavailable');
    expect(pool.snapshot()[0]?.breaker).toBe('open');
    expect(drive(pool, 50)).toEqual({ [B]: 50 });
    expect(pool.healthy()).toBe(true);
  });
});

describe('UpstreamPool: retries', () => {
  it('prefers a target not tried yet, and falls back to a tried one when it is alone', () => {
    const { pool } = harness({ targets: [A, B] });
    for (let i = 0; i < 20; i++) {
      const first = pool.pick();
      const second = pool.pick([first]);
      expect(second).not.toBe(first);
      pool.release(first, 'ok');
      pool.release(second, 'ok');
    }
    const single = harness({ targets: [A] }).pool;
    const first = single.pick();
    expect(single.pick([first])).toBe(first);
  });

  it('prefers a healthy tried target over an untried one out of rotation', () => {
    const { pool } = harness({ targets: [A, B] });
    failTimes(pool, B, 5, 'http-5xx');
    const first = pool.pick();
    expect(first.target.id).toBe(A);
    expect(pool.pick([first])).toBe(first);
  });

  it('spends from a budget: the floor, then a share of recent requests', () => {
    const { pool } = harness({ targets: [A], retry: { budget: 0.1 } });
    let allowed = 0;
    while (pool.tryRetry()) allowed++;
    expect(allowed).toBe(10);
    drive(pool, 100);
    while (pool.tryRetry()) allowed++;
    expect(allowed).toBe(20);
  });

  it('retries a lost connection for free when the target answered just before (the keep-alive race)', () => {
    const { pool } = harness({ targets: [A], retry: { budget: 0 } });
    while (pool.tryRetry()) {} // the floor is spent
    pool.release(pool.pick(), 'ok');
    const lost = pool.pick();
    pool.release(lost, 'error');
    expect(pool.tryRetry(lost, 'error')).toBe(true);
    const again = pool.pick([lost]);
    pool.release(again, 'error');
    expect(pool.tryRetry(again, 'error')).toBe(false); // two in a row: not a race, spend the budget
    pool.release(pool.pick(), 'ok');
    const refused = pool.pick();
    pool.release(refused, 'unavailable');
    expect(pool.tryRetry(refused, 'unavailable')).toBe(false); // a refused connection is never free
  });

  it('counts only first attempts as requests for the budget', () => {
    const { pool } = harness({ targets: [A], retry: { budget: 0.5 } });
    for (let i = 0; i < 100; i++) {
      const first = pool.pick();
      pool.release(first, 'ok');
      pool.release(pool.pick([first]), 'ok');
    }
    let allowed = 0;
    while (pool.tryRetry()) allowed++;
    expect(allowed).toBe(60);
  });
});

describe('UpstreamPool: active health checks', () => {
  const checked = {
    targets: [A, B],
    health: { path: '/health', healthyThreshold: 2, unhealthyThreshold: 2 },
  };

  it('marks a target unhealthy after failed checks and healthy again after passing ones', async () => {
    const { pool, probeAnswers, health } = harness(checked);
    await pool.checkNow(); // measured healthy once: from here the thresholds count
    probeAnswers.set(A, false);
    await pool.checkNow();
    expect(pool.snapshot()[0]?.healthy).toBe(true);
    await pool.checkNow();
    expect(pool.snapshot()[0]?.healthy).toBe(false);
    expect(health.get(A)).toBe(false);
    expect(drive(pool, 50)).toEqual({ [B]: 50 });
    probeAnswers.set(A, true);
    await pool.checkNow();
    expect(pool.snapshot()[0]?.healthy).toBe(false);
    await pool.checkNow();
    expect(pool.snapshot()[0]?.healthy).toBe(true);
    expect(health.get(A)).toBe(true);
    expect(drive(pool, 200)[A]).toBeGreaterThan(0);
  });

  it('clears ejection and breaker when a target comes back healthy', async () => {
    const { pool, probeAnswers } = harness({ ...checked, breaker: { failures: 5, cooldown: '1m' } });
    failTimes(pool, A, 5, 'unavailable');
    expect(pool.snapshot()[0]).toMatchObject({ ejected: true, breaker: 'open' });
    probeAnswers.set(A, false);
    await pool.checkNow();
    await pool.checkNow();
    probeAnswers.set(A, true);
    await pool.checkNow();
    await pool.checkNow();
    expect(pool.snapshot()[0]).toMatchObject({
      healthy: true,
      ejected: false,
      breaker: 'closed',
      available: true,
    });
  });

  it('takes a first failed check at once: a target never measured is not assumed healthy', async () => {
    const { pool, probeAnswers } = harness(checked);
    expect(pool.status()).toBe('unknown');
    probeAnswers.set(A, false);
    probeAnswers.set(B, false);
    await pool.checkNow();
    expect(pool.snapshot().map((t) => t.healthy)).toEqual([false, false]);
    expect(pool.status()).toBe(false);
    probeAnswers.set(B, true);
    await pool.checkNow();
    await pool.checkNow();
    expect(pool.status()).toBe(true);
  });

  it('reports unknown when checks are off', async () => {
    expect(harness({ targets: [A], health: false }).pool.status()).toBe('unknown');
  });

  it('ends an ejection early when the target passes a check', async () => {
    const { pool } = harness(checked);
    failTimes(pool, A, 5, 'http-5xx');
    expect(pool.snapshot()[0]?.ejected).toBe(true);
    await pool.checkNow();
    expect(pool.snapshot()[0]?.ejected).toBe(false);
  });

  it('writes the target health gauge on every change', async () => {
    const registry = new Registry();
    const metrics = createMetrics(registry, 'test_');
    const { pool, probeAnswers } = harness(
      { ...checked, health: { path: '/h', unhealthyThreshold: 1 } },
      { metrics },
    );
    probeAnswers.set(B, false);
    await pool.checkNow();
    const text = await registry.metrics();
    expect(text).toContain(`test_upstream_target_healthy{service="svc",target="${A}"} 1`);
    expect(text).toContain(`test_upstream_target_healthy{service="svc",target="${B}"} 0`);
    registry.clear();
  });

  it('probes on an interval once started', async () => {
    let probes = 0;
    const { pool } = harness(
      { targets: [A], health: { path: '/h', interval: 10 } },
      {
        probe: async () => {
          probes++;
          return true;
        },
      },
    );
    pool.start();
    await expect.poll(() => probes, { timeout: 5_000 }).toBeGreaterThanOrEqual(3);
    await pool.stop();
  });
});
