import { GatewayError } from '../errors.js';
import type { AuthChallenge, AuthRefusal } from '../identity.js';
import type { GatewayPlugin } from '../plugin.js';
import type { Middleware, Route } from '../types.js';

type Challenger = (refusal: AuthRefusal) => AuthChallenge | undefined;

/**
 * Core's authorization of one route, built once: `auth: required` needs `ctx.state.identity`
 * (401 without one, with the authenticators' challenges), and the identity must hold every one of
 * the route's `scopes` (403 naming the first missing one). A public route gets no step at all.
 */
export function authorize(route: Route, plugins: readonly GatewayPlugin[]): Middleware | undefined {
  const { auth } = route.config;
  if (auth === 'public') return undefined;
  const scopes = [...new Set(route.config.scopes)];
  const challengers: Challenger[] = [];
  for (const p of plugins) {
    if (p.challenge !== undefined && p.provides?.includes('authentication')) {
      challengers.push(p.challenge.bind(p));
    }
  }

  const refuse = (refusal: AuthRefusal): GatewayError => {
    let detail = refusal.detail;
    const headers: string[] = [];
    for (const challenge of challengers) {
      const c = challenge(refusal);
      if (c?.header) headers.push(c.header);
      if (c?.detail && detail === refusal.detail) detail = c.detail;
    }
    return new GatewayError(refusal.status === 401 ? 'GW_UNAUTHORIZED' : 'GW_FORBIDDEN', {
      detail,
      ...(headers.length > 0 && {
        headers: { 'www-authenticate': headers.length === 1 ? headers[0]! : headers },
      }),
    });
  };

  return async function authorizeRoute(ctx, next) {
    const identity = ctx.state.identity;
    if (identity === undefined || identity === null) {
      throw refuse({ status: 401, detail: 'authentication required', scopes });
    }
    // A plugin that hands core anything but a Set fails closed: no scope is granted by accident.
    const granted = identity.scopes instanceof Set ? identity.scopes : EMPTY;
    for (let i = 0; i < scopes.length; i++) {
      const scope = scopes[i]!;
      if (!granted.has(scope)) {
        throw refuse({ status: 403, detail: `missing scope "${scope}"`, scopes, identity });
      }
    }
    await next();
  };
}

const EMPTY: ReadonlySet<string> = new Set();

/**
 * Where core's step goes in a route's chain: right after the last middleware an authenticating
 * plugin contributed (every authenticator has had its say, limits then key on the identity), else at
 * the end, where the chain reaches the proxy.
 */
export function withAuthorization(
  chain: ReadonlyArray<{ plugin: GatewayPlugin; middleware: Middleware }>,
  step: Middleware | undefined,
): Middleware[] {
  const out = chain.map((c) => c.middleware);
  if (step === undefined) return out;
  let at = out.length;
  for (let i = chain.length - 1; i >= 0; i--) {
    if (chain[i]!.plugin.provides?.includes('authentication')) {
      at = i + 1;
      break;
    }
  }
  // Only when no authenticator contributed to this route: the step runs last.
  if (at === out.length) {
    out.push(step);
    return out;
  }
  out.splice(at, 0, step);
  return out;
}
