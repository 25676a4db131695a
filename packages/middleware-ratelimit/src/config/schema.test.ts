import { ConfigError, parseWith } from '@lucid/gateway-core';
import { describe, expect, it } from 'vitest';
import { rateLimitConfigSchema } from './schema.js';

function issuesOf(input: unknown): string[] {
  try {
    parseWith(rateLimitConfigSchema, input);
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return (err as ConfigError).issues.map((i) => `${i.path}: ${i.message}`);
  }
  throw new Error('expected the section to be rejected');
}

describe('rateLimitConfigSchema', () => {
  it('defaults to the seed tiers in memory, keyed by user, failing open', () => {
    expect(parseWith(rateLimitConfigSchema, {})).toEqual({
      store: 'memory',
      keyBy: 'user',
      tiers: {
        free: { limit: 100, windowMs: 60_000 },
        premium: { limit: 1_000, windowMs: 60_000 },
        enterprise: { limit: 10_000, windowMs: 60_000 },
      },
      defaultTier: 'free',
      perRoute: false,
      onStoreError: 'open',
      fallback: 'memory',
      maxKeys: 100_000,
    });
  });

  it('parses a Redis section with its units and defaults', () => {
    const cfg = parseWith(rateLimitConfigSchema, {
      store: 'redis',
      redis: { url: 'redis://127.0.0.1:6379', commandTimeout: '20ms' },
      keyBy: { header: 'X-API-Key' },
      preAuth: '600/min',
      tiers: { basic: '5/10s' },
      defaultTier: 'basic',
    });
    expect(cfg.redis).toEqual({
      url: 'redis://127.0.0.1:6379',
      keyPrefix: 'lucid:rl:',
      commandTimeout: 20,
      slowReply: 50,
      connectTimeout: 2_000,
    });
    // A slow reply is not an outage: by default a connected Redis gets a second to answer.
    expect(
      parseWith(rateLimitConfigSchema, { store: 'redis', redis: { url: 'redis://h' } }).redis,
    ).toMatchObject({
      commandTimeout: 1_000,
      slowReply: 50,
    });
    expect(cfg.keyBy).toEqual({ header: 'x-api-key' });
    expect(cfg.preAuth).toEqual({ limit: 600, windowMs: 60_000 });
    expect(cfg.tiers).toEqual({ basic: { limit: 5, windowMs: 10_000 } });
  });

  it('rejects store: redis without a connection, with a fix', () => {
    expect(issuesOf({ store: 'redis' })).toEqual([
      'redis: store "redis" needs a connection: set redis.url (e.g. "redis://127.0.0.1:6379"), redis.sentinels with redis.name, or redis.cluster',
    ]);
    expect(issuesOf({ store: 'redis', redis: { keyPrefix: 'x:' } })).toHaveLength(1);
  });

  it('rejects a defaultTier that is not a tier, suggesting the closest', () => {
    expect(issuesOf({ defaultTier: 'premum' })).toEqual([
      'defaultTier: "premum" is not a tier (did you mean "premium"?); tiers are free, premium, enterprise',
    ]);
    expect(issuesOf({ tiers: { gold: '1/s' } })).toEqual([
      'defaultTier: "free" is not a tier; tiers are gold',
    ]);
  });

  it('names bad rates, URLs and keys by their path', () => {
    const issues = issuesOf({
      tiers: { free: 'lots' },
      redis: { url: 'http://x', comandTimeout: 5 },
      onStoreError: 'maybe',
    });
    expect(issues.some((i) => i.startsWith('tiers.free: "lots" is not a rate'))).toBe(true);
    expect(issues).toContain(
      'redis.url: expected a URL like "redis://127.0.0.1:6379" (or "rediss://" for TLS)',
    );
    expect(issues).toContain('redis.comandTimeout: unknown key (did you mean "commandTimeout"?)');
    expect(issues).toContain('onStoreError: expected "open" or "closed"');
  });

  it('requires a master name with sentinels and one connection mode only', () => {
    expect(issuesOf({ store: 'redis', redis: { sentinels: ['10.0.0.1:26379'] } })).toEqual([
      'redis.name: required with redis.sentinels: the master name, e.g. "mymaster"',
    ]);
    expect(
      issuesOf({ store: 'redis', redis: { url: 'redis://a:6379', cluster: ['redis://b:6379'] } }),
    ).toEqual(['redis: set only one of redis.url, redis.sentinels and redis.cluster']);
  });
});
