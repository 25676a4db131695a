import { describe, expect, it } from 'vitest';
import type { Identity } from './identity.js';
import { createTokenCache } from './token-cache.js';

const identity = (expiresAt: number): Identity => ({
  claims: {},
  tier: undefined,
  scopes: new Set(),
  forward: [],
  expiresAt,
});

describe('createTokenCache', () => {
  it('returns an identity until it expires, then forgets it', () => {
    const cache = createTokenCache(10);
    cache.set('t', identity(2000));
    expect(cache.get('t', 1999)).toBeDefined();
    expect(cache.get('t', 2000)).toBeUndefined();
    expect(cache.size).toBe(0);
  });

  it('stays within its bound by dropping the oldest entry', () => {
    const cache = createTokenCache(2);
    cache.set('a', identity(9e15));
    cache.set('b', identity(9e15));
    cache.set('c', identity(9e15));
    expect(cache.size).toBe(2);
    expect(cache.get('a', 0)).toBeUndefined();
    expect(cache.get('b', 0)).toBeDefined();
    expect(cache.get('c', 0)).toBeDefined();
  });

  it('caches nothing with max 0', () => {
    const cache = createTokenCache(0);
    cache.set('a', identity(9e15));
    expect(cache.get('a', 0)).toBeUndefined();
  });
});
