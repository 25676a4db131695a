import type { Identity as CoreIdentity, UserClaims } from '@lucid/gateway-core';

/**
 * A verified caller, computed once per token (or API key) and shared by every request that presents
 * it. It is the `ctx.state.identity` core authorizes on, plus what this plugin needs for itself.
 */
export interface VerifiedIdentity extends CoreIdentity {
  readonly sub: string | undefined;
  /** Deep-frozen verified claims. */
  readonly claims: Readonly<UserClaims>;
  readonly tier: string | undefined;
  readonly scopes: ReadonlySet<string>;
  /** Upstream headers to set, as `[name, value]`, already encoded. */
  readonly forward: ReadonlyArray<readonly [string, string]>;
  /** Epoch ms after which the identity must be verified again. */
  readonly expiresAt: number;
}

export interface IdentityOptions {
  tierClaim: string;
  scopesClaim: string | undefined;
  /** Upstream header → claim name. */
  forward: Record<string, string>;
}

/** Builds an identity from verified claims; all per-token work happens here, once. */
export function buildIdentity(
  claims: UserClaims,
  opts: IdentityOptions,
  expiresAt: number,
): VerifiedIdentity {
  const scopes = readScopes(claims, opts.scopesClaim);
  const tier = readTier(claims[opts.tierClaim]);
  const forward: Array<readonly [string, string]> = [];
  for (const [header, claim] of Object.entries(opts.forward)) {
    // `scope` (or the configured scopes claim) forwards the normalized list, whichever claim carried it;
    // the tier claim forwards the tier the gateway itself went by, so upstream and limiter agree.
    const isScopes = claim === 'scope' || claim === opts.scopesClaim;
    const raw = isScopes
      ? scopes.length > 0
        ? scopes.join(' ')
        : undefined
      : claim === opts.tierClaim
        ? tier
        : claims[claim];
    const value = headerValue(raw);
    if (value !== undefined) forward.push([header, value]);
  }
  const sub = typeof claims.sub === 'string' && claims.sub !== '' ? claims.sub : undefined;
  return { sub, claims: deepFreeze(claims), tier, scopes: new Set(scopes), forward, expiresAt };
}

/**
 * Scopes from the configured claim, else from `scope` (RFC 8693: space-separated) then `scp`
 * (an array, as Azure AD and Okta send it, or a string).
 */
export function readScopes(claims: UserClaims, scopesClaim: string | undefined): string[] {
  const raw = scopesClaim !== undefined ? claims[scopesClaim] : (claims.scope ?? claims.scp);
  if (typeof raw === 'string') return raw.split(' ').filter(isScopeToken);
  if (Array.isArray(raw)) return raw.filter(isScopeToken);
  return [];
}

// RFC 6749 §3.3 scope-token: visible ASCII but `"` and `\`. An item with a space (`["read admin"]`)
// is not one scope, and would become two once forwarded space-separated: it is dropped.
const SCOPE_TOKEN = /^[\x21\x23-\x5b\x5d-\x7e]+$/;
const isScopeToken = (s: unknown): s is string => typeof s === 'string' && SCOPE_TOKEN.test(s);

/** A tier is a non-empty string or a finite number; an array, object or boolean means no tier (the default one). */
function readTier(value: unknown): string | undefined {
  if (typeof value === 'string') return value === '' ? undefined : value;
  if (typeof value === 'number' && Number.isFinite(value)) return String(value);
  return undefined;
}

const PLAIN_HEADER_VALUE = /^[\x21-\x7e](?:[\x20-\x7e]*[\x21-\x7e])?$/;

/**
 * A claim as a header value: strings as they are, arrays joined with `,`, objects as JSON.
 * Anything outside visible ASCII is percent-encoded, so a claim can never inject a line break.
 */
export function headerValue(raw: unknown): string | undefined {
  let text: string;
  if (typeof raw === 'string') text = raw;
  else if (typeof raw === 'number' || typeof raw === 'boolean') text = String(raw);
  else if (Array.isArray(raw))
    text = raw.map((v) => (typeof v === 'string' ? v : JSON.stringify(v))).join(',');
  else if (raw !== null && typeof raw === 'object') text = JSON.stringify(raw);
  else return undefined;
  if (text === '') return undefined;
  return PLAIN_HEADER_VALUE.test(text) ? text : encodeURIComponent(text);
}

function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const v of Object.values(value)) deepFreeze(v);
  }
  return value;
}
