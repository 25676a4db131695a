import type { Identity } from './identity.js';

export interface TokenCache {
  /** The identity for a token verified before and not yet expired at `now` (epoch ms). */
  get(token: string, now: number): Identity | undefined;
  set(token: string, identity: Identity): void;
  clear(): void;
  readonly size: number;
}

/**
 * Verified tokens by their exact text, so a hot token costs one Map lookup instead of a signature
 * check. Bounded: when full, the oldest entry goes (insertion order). An entry never outlives its
 * token's `exp`. `max` 0 caches nothing.
 */
export function createTokenCache(max: number): TokenCache {
  const entries = new Map<string, Identity>();
  return {
    get(token, now) {
      const hit = entries.get(token);
      if (hit === undefined) return undefined;
      if (hit.expiresAt > now) return hit;
      entries.delete(token);
      return undefined;
    },
    set(token, identity) {
      if (max === 0) return;
      if (entries.size >= max && !entries.has(token)) {
        const oldest = entries.keys().next();
        if (!oldest.done) entries.delete(oldest.value);
      }
      entries.set(token, identity);
    },
    clear() {
      entries.clear();
    },
    get size() {
      return entries.size;
    },
  };
}
