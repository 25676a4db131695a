import { ConfigError, type Route, type RouteConfig, routeSchema, serviceSchema } from '@lucid/gateway-core';
import { describe, expect, it } from 'vitest';
import { parseRateLimitConfig } from './rate-limit.js';
import { routePolicies } from './route-policies.js';

const cfg = parseRateLimitConfig({});
const route = (rateLimit: unknown): Route => ({
  id: '/api',
  kind: 'proxy',
  exact: false,
  config: { ...routeSchema.parse({ prefix: '/api', service: 'api' }), rateLimit } as RouteConfig,
  service: serviceSchema.parse({ targets: ['http://a:1'] }),
  serviceName: 'api',
});

describe('routePolicies', () => {
  it('uses the tiers, shared across routes, when the route says nothing', () => {
    const p = routePolicies(route(undefined), cfg)!;
    expect(p.perRoute).toBe(false);
    expect(p.fallback).toMatchObject({ name: 'free', limit: 100 });
    expect(p.byTier.get('premium')).toMatchObject({ limit: 1_000, policyHeader: '"premium";q=1000;w=60' });
  });

  it('is off for rateLimit: false', () => {
    expect(routePolicies(route(false), cfg)).toBeUndefined();
  });

  it('applies one rate to every tier, counted per route', () => {
    const p = routePolicies(route({ limit: 5, windowMs: 1_000 }), cfg)!;
    expect(p.perRoute).toBe(true);
    expect([...p.byTier.values()].map((x) => x.limit)).toEqual([5, 5, 5]);
  });

  it('overrides some tiers and keeps the others', () => {
    const p = routePolicies(route({ premium: { limit: 50, windowMs: 60_000 } }), cfg)!;
    expect(p.byTier.get('premium')!.limit).toBe(50);
    expect(p.byTier.get('free')!.limit).toBe(100);
  });

  it('names an unknown tier in an override', () => {
    expect(() => routePolicies(route({ premum: { limit: 50, windowMs: 60_000 } }), cfg)).toThrow(ConfigError);
    try {
      routePolicies(route({ premum: { limit: 50, windowMs: 60_000 } }), cfg);
    } catch (err) {
      expect((err as ConfigError).issues).toEqual([
        {
          path: 'routes["/api"].rateLimit.premum',
          message: 'unknown tier (did you mean "premium"?); tiers are free, premium, enterprise',
        },
      ]);
    }
  });
});
