import { describe, expect, it } from 'vitest';
import type { VerifiedIdentity } from './identity.js';
import { createTokenCache } from './token-cache.js';

const identity = (expiresAt: number): VerifiedIdentity => ({
  sub: undefined,
  claims: {},
  tier: undefined,
  scopes: new Set(),
  forward: [],
  expiresAt,
});

const HOUR = 3_600_000;

describe('createTokenCache', () => {
  it('returns an identity until it expires, then forgets it', () => {
    const cache = createTokenCache(10, HOUR);
    cache.set('t', identity(2000), 0);
    expect(cache.get('t', 1999)).toBeDefined();
    expect(cache.get('t', 2000)).toBeUndefined();
    expect(cache.size).toBe(0);
  });

  it('keeps a token with a far-off exp no longer than its ttl', () => {
    const cache = createTokenCache(10, 5_000);
    cache.set('far', identity(8.64e15), 1_000);
    expect(cache.get('far', 5_999)).toBeDefined();
    expect(cache.get('far', 6_000)).toBeUndefined();
    expect(cache.size).toBe(0);
  });

  it('never keeps an identity whose lifetime is not a finite time', () => {
    const cache = createTokenCache(10, HOUR);
    for (const expiresAt of [Number.POSITIVE_INFINITY, Number.NaN]) cache.set('t', identity(expiresAt), 0);
    expect(cache.size).toBe(0);
    expect(cache.get('t', 1)).toBeUndefined();
  });

  it('stays within its bound by dropping the oldest entry', () => {
    const cache = createTokenCache(2, HOUR);
    cache.set('a', identity(9e15), 0);
    cache.set('b', identity(9e15), 0);
    cache.set('c', identity(9e15), 0);
    expect(cache.size).toBe(2);
    expect(cache.get('a', 0)).toBeUndefined();
    expect(cache.get('b', 0)).toBeDefined();
    expect(cache.get('c', 0)).toBeDefined();
  });

  it('caches nothing with max 0 or ttl 0', () => {
    for (const cache of [createTokenCache(0, HOUR), createTokenCache(10, 0)]) {
      cache.set('a', identity(9e15), 0);
      expect(cache.get('a', 0)).toBeUndefined();
      expect(cache.size).toBe(0);
    }
  });
});
