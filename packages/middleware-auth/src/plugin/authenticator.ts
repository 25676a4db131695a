import type { IncomingMessage } from 'node:http';
import type { ApiKeyLookup } from '../api-keys/api-keys.js';
import type { JwtOptions } from '../config/schema.js';
import { bearerToken, headerCount } from '../http/credentials.js';
import { buildIdentity, type IdentityOptions, type VerifiedIdentity } from '../identity/identity.js';
import type { TokenCache } from '../identity/token-cache.js';
import { AuthFailure } from '../jwt/failure.js';
import type { VerifyJwt } from '../jwt/verifier.js';

/** Finds who sent a request, or throws an `AuthFailure`. */
export type Authenticate = (req: IncomingMessage) => Promise<VerifiedIdentity>;

export interface AuthenticatorDeps {
  jwt: { options: JwtOptions; verify: VerifyJwt } | undefined;
  apiKeys: { header: string; lookup: ApiKeyLookup } | undefined;
  identity: IdentityOptions;
  cache: TokenCache;
}

const BEARER_PREFIX = 'Bearer '.length;

/**
 * A bearer token when JWT is configured and one is sent, else an API key when those are configured
 * and one is sent. A token seen before costs a rawHeaders scan and one Map lookup; concurrent first
 * sightings of the same token share one verification.
 */
export function createAuthenticator(deps: AuthenticatorDeps): Authenticate {
  const { jwt, apiKeys, identity, cache } = deps;
  const maxHeaderLength = jwt ? BEARER_PREFIX + jwt.options.maxTokenSize : 0;
  const toleranceMs = jwt?.options.clockTolerance ?? 0;
  const maxAgeMs = jwt?.options.maxTokenAge;
  const inflight = new Map<string, Promise<VerifiedIdentity>>();

  const verifyToken = async (verify: VerifyJwt, token: string): Promise<VerifiedIdentity> => {
    const claims = await verify(token);
    // jose accepts a token until exp + tolerance (and iat + maxTokenAge + tolerance); the cache does the same.
    let expiresAt = (claims.exp as number) * 1000 + toleranceMs;
    if (maxAgeMs !== undefined && typeof claims.iat === 'number') {
      expiresAt = Math.min(expiresAt, claims.iat * 1000 + maxAgeMs + toleranceMs);
    }
    const verified = buildIdentity(claims, identity, expiresAt);
    cache.set(token, verified, Date.now());
    return verified;
  };

  return async function authenticate(req) {
    const authorization = req.headers.authorization;
    if (jwt && authorization !== undefined) {
      if (headerCount(req, 'authorization') > 1) {
        throw new AuthFailure('duplicate_header', 'more than one Authorization header');
      }
      if (authorization.length > maxHeaderLength) throw new AuthFailure('too_large', 'token too large');
      const token = bearerToken(authorization);
      if (token === undefined) throw new AuthFailure('malformed', 'expected "Authorization: Bearer <token>"');

      const hit = cache.get(token, Date.now());
      if (hit !== undefined) return hit;
      let pending = inflight.get(token);
      if (pending === undefined) {
        pending = verifyToken(jwt.verify, token).finally(() => inflight.delete(token));
        inflight.set(token, pending);
      }
      return pending;
    }
    if (apiKeys) {
      const presented = req.headers[apiKeys.header];
      if (presented !== undefined) {
        // Node joins repeated custom headers with ", ", which no stored digest matches.
        const found = typeof presented === 'string' ? apiKeys.lookup(presented) : undefined;
        if (found === undefined) throw new AuthFailure('invalid_api_key', 'invalid API key');
        return found;
      }
    }
    throw new AuthFailure('missing', jwt ? 'no bearer token' : 'no API key');
  };
}
