/**
 * Who a request comes from, as an authenticating plugin verified it. A leaf module: core's
 * authorization, plugins and embedders all speak of the caller through this one type.
 *
 * Plugins authenticate: one that verifies a credential sets `ctx.state.identity`. Core authorizes:
 * on a route with `auth: required` it answers 401 when the chain reaches the proxy with no
 * identity, and 403 naming the first of the route's `scopes` the identity lacks.
 */
export interface Identity {
  /** The subject (a user or a machine), when the credential names one. */
  readonly sub?: string | undefined;
  /** The caller's tier (plans, quotas), from the verified credential only. */
  readonly tier?: string | undefined;
  /** What the caller may do; a route's `scopes` must all be in here. */
  readonly scopes: ReadonlySet<string>;
  /** The verified claims (a token's payload, an API key's attributes); never read from client headers. */
  readonly claims: Readonly<Record<string, unknown>>;
}

/** Why core refuses a request on a protected route; handed to the authenticators for their challenge. */
export interface AuthRefusal {
  /** 401: no identity; 403: an identity without one of the route's scopes. */
  readonly status: 401 | 403;
  /** What the client is told (`missing scope "admin"`). */
  readonly detail: string;
  /** The scopes the route requires (all of them). */
  readonly scopes: readonly string[];
  /** The identity refused (a 403 only). */
  readonly identity?: Identity | undefined;
}

/** What an authenticating plugin adds to core's refusal: its `WWW-Authenticate` challenge, a clearer detail. */
export interface AuthChallenge {
  /** One `WWW-Authenticate` challenge (RFC 9110 §11.6.1), e.g. `Bearer realm="api"`. */
  header?: string;
  /** Replaces core's detail in the problem body (safe to show a client). */
  detail?: string;
}
