import {
  ConfigError,
  PLUGIN_ORDER,
  type Route,
  type RouteConfig,
  routeSchema,
  serviceSchema,
} from '@lucid/gateway-core';
import { describe, expect, it } from 'vitest';
import { RedisStore } from '../stores/redis-store.js';
import { rateLimitPlugins } from './plugins.js';
import { preAuthLimit } from './pre-auth.js';
import { rateLimit } from './rate-limit.js';

const route = (kind: Route['kind'], rateLimit?: unknown): Route => {
  const config = { ...routeSchema.parse({ prefix: '/x', service: 's' }), rateLimit } as RouteConfig;
  return kind === 'builtin'
    ? { id: '/x', kind, exact: false, config, builtin: 'health', handler: async () => {} }
    : {
        id: '/x',
        kind,
        exact: false,
        config,
        service: serviceSchema.parse({ targets: ['http://a:1'] }),
        serviceName: 's',
      };
};

describe('rateLimit()', () => {
  it('is named, ordered after auth, and validates its options once, naming the path', () => {
    const plugin = rateLimit();
    expect(plugin).toMatchObject({ name: 'rate-limit', order: PLUGIN_ORDER.limits });
    expect(() => rateLimit({ store: 'redis' })).toThrow(ConfigError);
    expect(() => rateLimit({ store: 'redis' })).toThrow(/rateLimit\.redis: store "redis" needs a connection/);
    expect(() => rateLimit({ defaultTier: 'gold' })).toThrow(/rateLimit\.defaultTier: "gold" is not a tier/);
    expect(() => preAuthLimit({ rate: 'often' })).toThrow(/rate: "often" is not a rate/);
  });

  it('builds no middleware for built-ins and for rateLimit: false', () => {
    const plugin = rateLimit();
    expect(plugin.middleware!(route('builtin'))).toBeUndefined();
    expect(plugin.middleware!(route('proxy', false))).toBeUndefined();
    expect(plugin.middleware!(route('proxy'))).toBeTypeOf('function');
    expect(plugin.middleware!(route('proxy'))!.name).toBe('rateLimiter');
    const pre = preAuthLimit({ rate: '10/s' });
    expect(pre.order).toBe(PLUGIN_ORDER.beforeAuthentication);
    expect(pre.middleware!(route('builtin'))).toBeUndefined();
    expect(pre.middleware!(route('proxy'))!.name).toBe('preAuthLimiter');
  });

  it('adds the pre-auth plugin only when preAuth is set', () => {
    expect(rateLimitPlugins({}).map((p) => p.name)).toEqual(['rate-limit']);
    expect(rateLimitPlugins({ preAuth: '600/min' }).map((p) => [p.name, p.order])).toEqual([
      ['rate-limit-pre-auth', PLUGIN_ORDER.beforeAuthentication],
      ['rate-limit', PLUGIN_ORDER.limits],
    ]);
  });

  it('opens no Redis connection until started, and stops cleanly without one', async () => {
    const plugin = rateLimit({ store: 'redis', redis: { url: 'redis://127.0.0.1:1' } });
    const store = plugin.store as RedisStore;
    expect(store).toBeInstanceOf(RedisStore);
    expect(store.client.status).toBe('wait');
    await plugin.close!();
    expect(store.client.status).toBe('end');
  });
});
