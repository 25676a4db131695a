import { createHash } from 'node:crypto';
import type { ApiKeyOptions } from '../config/schema.js';
import { buildIdentity, type IdentityOptions, type VerifiedIdentity } from '../identity/identity.js';

/** Finds the identity of a presented API key, or undefined. */
export type ApiKeyLookup = (presented: string) => VerifiedIdentity | undefined;

/**
 * Machine clients' keys, stored as SHA-256 digests only. Each key's identity (its `sub`, tier,
 * scopes and forwarded headers) is built once here; a request hashes what it presents and looks
 * the digest up, so no comparison runs on the secret itself.
 */
export function createApiKeyLookup(opts: ApiKeyOptions, identityOptions: IdentityOptions): ApiKeyLookup {
  const byDigest = new Map<string, VerifiedIdentity>();
  for (const key of opts.keys) {
    const claims = {
      sub: key.sub ?? key.id,
      client_id: key.id,
      [identityOptions.tierClaim]: key.tier,
      ...(key.scopes.length > 0 && { scope: key.scopes.join(' ') }),
    };
    byDigest.set(key.sha256, buildIdentity(claims, identityOptions, Number.POSITIVE_INFINITY));
  }
  return function lookupApiKey(presented) {
    return byDigest.get(createHash('sha256').update(presented, 'utf8').digest('hex'));
  };
}

/** The SHA-256 digest to put in `apiKeys.keys[].sha256` for a key. */
export function hashApiKey(key: string): string {
  return createHash('sha256').update(key, 'utf8').digest('hex');
}
