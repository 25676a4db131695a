import {
  type ComponentHealth,
  ConfigError,
  type GatewayPlugin,
  type Middleware,
  PLUGIN_ORDER,
  type PluginSetup,
  parseWith,
  registerErrors,
} from '@lucid/gateway-core';
import { createApiKeyLookup } from '../api-keys/api-keys.js';
import { type AuthOptionsInput, authConfigSchema } from '../config/schema.js';
import { bearerChallenge, forbidden, insufficientScope, unauthorized } from '../http/challenge.js';
import type { IdentityOptions, VerifiedIdentity } from '../identity/identity.js';
import { createTokenCache } from '../identity/token-cache.js';
import { AuthFailure } from '../jwt/failure.js';
import { createJwtVerifier } from '../jwt/verifier.js';
import { createKeySource } from '../keys/key-source.js';
import { type FailureCounter, registerFailureCounter } from '../metrics/failure-counter.js';
import { compileRoutePolicy } from '../policy/route-policy.js';
import { createAuthenticator } from './authenticator.js';
import { AUTH_ERRORS, authPluginSchema, claimsOf } from './schema.js';

type Logger = PluginSetup['logger'];

/**
 * Authentication for every protected route: verifies `Authorization: Bearer` JWTs (or API keys),
 * sets `ctx.state.identity` (sub, tier, scopes, claims), enforces the route's `claims`, and forwards
 * chosen claims upstream as headers. Core authorizes on the identity: `auth: required` (401, with
 * this plugin's `Bearer` challenge) and `scopes` (403). It declares the forwarded headers
 * (`identityHeaders`), so core deletes a client's copies on every route.
 *
 * Options are the config's `auth:` section, checked once here (a `ConfigError` when wrong).
 *
 * @example
 * const gateway = createGateway(config, {
 *   plugins: [jwtAuth({ jwt: { jwks: 'https://auth.example/.well-known/jwks.json', algorithms: ['RS256'],
 *     issuer: 'https://auth.example/', audience: 'lucid-api' } })],
 * });
 */
export function jwtAuth(input: AuthOptionsInput): GatewayPlugin {
  const options = parseOptions(input);
  // Its codes are in the table even when its middleware runs outside a gateway (tests, embedding).
  registerErrors(AUTH_ERRORS);
  let log: Logger | undefined;
  let failures: FailureCounter | undefined;
  let realm = 'lucid-gateway';

  const keys = options.jwt
    ? createKeySource(options.jwt, {
        onFetchError: (err) =>
          log?.warn({ err: err.message }, 'auth: fetching the JWKS failed (keys already held stay in use)'),
      })
    : undefined;
  const identity: IdentityOptions = {
    tierClaim: options.tierClaim,
    scopesClaim: options.scopesClaim,
    forward: options.forward,
  };
  const cache = createTokenCache(options.cache.max, options.cache.ttl);
  const authenticate = createAuthenticator({
    jwt:
      options.jwt && keys
        ? { options: options.jwt, verify: createJwtVerifier(options.jwt, keys.key) }
        : undefined,
    apiKeys: options.apiKeys && {
      header: options.apiKeys.header,
      lookup: createApiKeyLookup(options.apiKeys, identity),
    },
    identity,
    cache,
  });

  // Identity headers come only from verified claims: core drops incoming copies on every route.
  const identityHeaders = Object.keys(options.forward);
  const apiKeyHeader = options.apiKeys?.header;
  const missingDetail = options.jwt ? 'no bearer token' : 'no API key';

  const reject = (err: unknown): never => {
    const failure =
      err instanceof AuthFailure ? err : new AuthFailure('invalid', 'credential invalid', { cause: err });
    failures?.inc(failure.reason);
    if (!(err instanceof AuthFailure)) log?.error({ err }, 'auth: unexpected error while authenticating');
    throw unauthorized(failure, realm);
  };

  return {
    name: 'auth',
    order: PLUGIN_ORDER.authentication,
    schema: authPluginSchema,
    provides: ['authentication'],
    identityHeaders,

    setup({ config, logger, registry, metricPrefix }) {
      log = logger.child({ plugin: 'auth' });
      realm = config.name;
      failures = registerFailureCounter(registry, `${metricPrefix}auth_failures_total`);
    },

    middleware(route): Middleware | undefined {
      const policy = compileRoutePolicy({ ...route.config, claims: claimsOf(route.config) });
      // A public route: a credential that is sent is not verified and not trusted for identity.
      if (policy.isPublic) return undefined;
      const scopes = route.config.scopes;
      return async function jwtAuth(ctx, next) {
        const headers = ctx.req.headers;
        let user: VerifiedIdentity;
        try {
          user = await authenticate(ctx.req);
        } catch (err) {
          // No credential of ours: core refuses the route (401, with this plugin's challenge) unless
          // another authenticator set the identity. A credential that is sent and fails is refused here.
          if (err instanceof AuthFailure && err.reason === 'missing') return next();
          return reject(err);
        }
        const denied = policy.authorize(user);
        if (denied !== undefined) {
          failures?.inc(denied.reason);
          throw forbidden(denied, realm, scopes);
        }
        // The gateway consumed the machine credential; upstreams get the identity instead.
        if (apiKeyHeader !== undefined && headers[apiKeyHeader] !== undefined) delete headers[apiKeyHeader];
        ctx.state.identity = user;
        const upstream = ctx.upstreamHeaders;
        for (const [name, value] of user.forward) upstream[name] = value;
        await next();
      };
    },

    // Core authorizes (`auth: required`, `scopes`); this plugin says how to authenticate in its refusals.
    challenge(refusal) {
      if (refusal.status === 401) {
        failures?.inc('missing');
        return { header: bearerChallenge(realm), detail: missingDetail };
      }
      failures?.inc('insufficient_scope');
      return { header: insufficientScope(refusal.detail, realm, refusal.scopes) };
    },

    async start() {
      if (keys?.remote && !(await keys.remote.refresh())) {
        log?.warn('auth: JWKS not reachable at start; requests needing it answer 503 until it is');
      }
    },

    // After the drain: a request in flight may still be waiting on a key-set fetch.
    async close() {
      keys?.remote?.close();
      cache.clear();
    },

    async health(): Promise<ComponentHealth> {
      const detail: Record<string, unknown> = {
        keySource: keys?.kind ?? 'apiKeys',
        cachedTokens: cache.size,
      };
      if (options.apiKeys) detail.apiKeys = options.apiKeys.keys.length;
      if (!keys?.remote) return { healthy: true, detail };
      const state = keys.remote.state();
      detail.jwks = {
        keys: state.keys,
        ...(state.ageMs !== undefined && { ageSeconds: Math.round(state.ageMs / 1000) }),
        ...(state.lastError !== undefined && { lastError: state.lastError }),
        ...(state.breakerOpen && { breakerOpen: true }),
      };
      return { healthy: state.keys > 0, detail };
    },
  };
}

/** Validates once; problems are named by their place in the config file (`auth.jwt.secret`). */
function parseOptions(input: AuthOptionsInput) {
  try {
    return parseWith(authConfigSchema, input);
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    throw new ConfigError(err.issues.map((i) => ({ ...i, path: i.path ? `auth.${i.path}` : 'auth' })));
  }
}
