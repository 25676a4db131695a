import type { RouteConfig, UserClaims } from '@lucid/gateway-core';
import type { VerifiedIdentity } from '../identity/identity.js';
import { AuthFailure } from '../jwt/failure.js';
import type { AuthRouteOptions } from '../plugin/schema.js';

export interface RoutePolicy {
  /** No credential needed; one that is sent is not verified and not trusted for identity. */
  readonly isPublic: boolean;
  /** Undefined when the identity meets the route's `claims`, else why not (a 403). */
  authorize(identity: VerifiedIdentity): AuthFailure | undefined;
}

type PolicyConfig = Partial<Pick<RouteConfig, 'auth'>> & AuthRouteOptions;

/**
 * Compiles a route's `auth` and `claims` once, so a request only runs Set lookups. A route's
 * `scopes` are core's to check (it authorizes every authenticator's identity the same way).
 */
export function compileRoutePolicy(config: PolicyConfig): RoutePolicy {
  const matchers = Object.entries(config.claims ?? {}).map(([name, allowed]) => ({
    name,
    read: claimReader(name),
    allowed: new Set(Array.isArray(allowed) ? allowed : [allowed]),
  }));
  return {
    isPublic: config.auth === 'public',
    authorize(identity) {
      for (const m of matchers) {
        if (!matches(m.read(identity.claims), m.allowed)) {
          return new AuthFailure('claim_mismatch', `claim "${m.name}" does not allow this route`);
        }
      }
      return undefined;
    },
  };
}

/** Reads `name` as a claim, else as a dotted path (`realm_access.roles`); namespaced claims contain dots too. */
function claimReader(name: string): (claims: Readonly<UserClaims>) => unknown {
  const path = name.split('.');
  return (claims) => {
    if (Object.hasOwn(claims, name)) return claims[name];
    if (path.length === 1) return undefined;
    let node: unknown = claims;
    for (const seg of path) {
      if (node === null || typeof node !== 'object' || !Object.hasOwn(node, seg)) return undefined;
      node = (node as Record<string, unknown>)[seg];
    }
    return node;
  };
}

/** A claim matches when it (or, for an array claim, any of its items) is one of the allowed values. */
function matches(value: unknown, allowed: ReadonlySet<string>): boolean {
  if (typeof value === 'string') return allowed.has(value);
  if (typeof value === 'number' || typeof value === 'boolean') return allowed.has(String(value));
  if (Array.isArray(value))
    return value.some((v) => (typeof v === 'string' || typeof v === 'number') && allowed.has(String(v)));
  return false;
}
