import type { VerifiedIdentity } from './identity.js';

export interface TokenCache {
  /** The identity for a token verified before and not yet expired at `now` (epoch ms). */
  get(token: string, now: number): VerifiedIdentity | undefined;
  /** Keeps `identity` until its `expiresAt` or `ttl` ms after `now`, whichever comes first. */
  set(token: string, identity: VerifiedIdentity, now: number): void;
  clear(): void;
  readonly size: number;
}

interface Entry {
  identity: VerifiedIdentity;
  until: number;
}

/**
 * Verified tokens by their exact text, so a hot token costs one Map lookup instead of a signature
 * check. Bounded in count (when full, the oldest entry goes, in insertion order) and in time: an
 * entry never outlives its token's `exp`, nor `ttl` ms, so a token with a far-off `exp` cannot pin
 * a slot (or outlive a key's removal from a JWKS) for longer. `max` 0 caches nothing.
 */
export function createTokenCache(max: number, ttl: number): TokenCache {
  const entries = new Map<string, Entry>();
  return {
    get(token, now) {
      const hit = entries.get(token);
      if (hit === undefined) return undefined;
      if (hit.until > now) return hit.identity;
      entries.delete(token);
      return undefined;
    },
    set(token, identity, now) {
      // A lifetime that is not a finite time is never trusted to end: such an identity is not kept.
      if (max === 0 || ttl <= 0 || !Number.isFinite(identity.expiresAt)) return;
      if (entries.size >= max && !entries.has(token)) {
        const oldest = entries.keys().next();
        if (!oldest.done) entries.delete(oldest.value);
      }
      entries.set(token, { identity, until: Math.min(identity.expiresAt, now + ttl) });
    },
    clear() {
      entries.clear();
    },
    get size() {
      return entries.size;
    },
  };
}
