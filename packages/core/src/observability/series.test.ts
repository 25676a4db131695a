import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { Counter, counterOn, gaugeOn, histogramOn } from './series.js';

const lines = async (registry: Registry) =>
  (await registry.metrics()).split('\n').filter((l) => l && !l.startsWith('#'));

describe('series', () => {
  it('renders counters and gauges in the Prometheus text format', async () => {
    const registry = new Registry();
    const c = counterOn(registry, 'x_total', 'help', ['reason']);
    const expired = c.labels('expired');
    expired.inc();
    expired.inc(2);
    c.labels('bad_signature');
    const g = gaugeOn(registry, 'x_stale', 'help');
    g.labels().set(3);
    g.labels().dec();
    expect(await lines(registry)).toEqual([
      'x_total{reason="expired"} 3',
      'x_total{reason="bad_signature"} 0',
      'x_stale 2',
    ]);
    expect(expired.value).toBe(3);
  });

  it('renders a histogram with cumulative buckets, sum and count', async () => {
    const registry = new Registry();
    const h = histogramOn(registry, 'd_seconds', 'help', ['route'], [0.1, 1]);
    const s = h.labels('/a');
    s.observe(0.05);
    s.observe(0.5);
    s.observe(5);
    expect(await lines(registry)).toEqual([
      'd_seconds_bucket{le="0.1",route="/a"} 1',
      'd_seconds_bucket{le="1",route="/a"} 2',
      'd_seconds_bucket{le="+Inf",route="/a"} 3',
      'd_seconds_sum{route="/a"} 5.55',
      'd_seconds_count{route="/a"} 3',
    ]);
  });

  it('drops removed series and reuses a family already on the registry', async () => {
    const registry = new Registry();
    const a = gaugeOn(registry, 'up', 'help', ['target']);
    a.labels('x').set(1);
    a.labels('y').set(0);
    a.remove('x');
    expect(gaugeOn(registry, 'up', 'help', ['target'])).toBe(a);
    expect(await lines(registry)).toEqual(['up{target="y"} 0']);
    a.reset();
    expect(await lines(registry)).toEqual([]);
  });

  it('refuses a second metric of the same name and another kind', () => {
    const registry = new Registry();
    gaugeOn(registry, 'n', 'help');
    expect(() => counterOn(registry, 'n', 'help')).toThrow();
    expect(new Counter('n2', 'help').labels().value).toBe(0);
  });
});
