import { didYouMean } from '@lucid/gateway-core';
import { error, type Problem, warning } from './problems.js';
import type { FullConfig } from './schema.js';

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => v !== null && typeof v === 'object' && !Array.isArray(v);

/** `/users/:id/` and `/users/:x` route the same paths. */
const shapeOf = (prefix: string) => prefix.replace(/\/:[^/]+/g, '/:').replace(/(.)\/+$/, '$1');

const BUILTINS = ['root', 'health', 'metrics'] as const;

/**
 * What the schemas cannot see on their own: routes that can never match, routes that need a token
 * with no auth configured, limits naming unknown tiers, services nobody routes to, ...
 * Runs on a config that already passed the schema.
 *
 * @example semanticProblems(fullConfigSchema.parse(raw)).filter((p) => p.severity === 'error')
 */
export function semanticProblems(config: FullConfig): Problem[] {
  return [
    ...routeProblems(config),
    ...authProblems(config),
    ...rateLimitProblems(config),
    ...serviceProblems(config),
  ];
}

function routeProblems(config: FullConfig): Problem[] {
  const problems: Problem[] = [];
  config.routes.forEach((route, i) => {
    const shape = shapeOf(route.prefix);
    for (let j = 0; j < i; j++) {
      const earlier = config.routes[j]!;
      if (shapeOf(earlier.prefix) !== shape || earlier.host !== route.host) continue;
      const covered =
        !earlier.methods || (route.methods?.every((m) => earlier.methods!.includes(m)) ?? false);
      if (!covered) continue;
      problems.push(
        error(
          `routes[${i}].prefix`,
          `"${route.prefix}" can never match: routes[${j}] ("${earlier.prefix}"${earlier.methods ? ` ${earlier.methods.join(',')}` : ''}) takes the same requests`,
          'remove one of the two, or tell them apart with "methods" or "host"',
        ),
      );
      break;
    }
    for (const name of BUILTINS) {
      const builtin = config.builtins[name];
      if (builtin === false || route.host !== undefined || shapeOf(builtin.path) !== shape) continue;
      problems.push(
        warning(
          `routes[${i}].prefix`,
          `"${route.prefix}" takes over the built-in ${name} endpoint at ${builtin.path} (the route wins)`,
          `if that is meant, say so with builtins.${name}: false; else move the built-in (builtins.${name}.path) or the route`,
        ),
      );
    }
  });
  return problems;
}

function authProblems(config: FullConfig): Problem[] {
  const problems: Problem[] = [];
  const hasAuth = config.auth !== undefined;
  config.routes.forEach((route, i) => {
    const guarded = route.scopes.length > 0 || route.claims !== undefined;
    if (route.auth === 'public') {
      if (guarded) {
        problems.push(
          error(
            `routes[${i}].auth`,
            `"${route.prefix}" is public but lists ${route.scopes.length > 0 ? 'scopes' : 'claims'}, which only a verified token can have`,
            'remove "auth: public", or drop the scopes/claims',
          ),
        );
      }
    } else if (!hasAuth) {
      problems.push(
        error(
          `routes[${i}].auth`,
          `"${route.prefix}" needs a verified token (routes do unless they say "auth: public"), but no "auth" section is configured`,
          'add auth.jwt (a secret, publicKey or jwks), or set "auth: public" on this route',
        ),
      );
    }
  });
  if (!hasAuth) {
    for (const name of BUILTINS) {
      const builtin = config.builtins[name];
      if (builtin === false || builtin.auth !== 'required') continue;
      problems.push(
        error(
          `builtins.${name}.auth`,
          `the ${name} endpoint needs a verified token, but no "auth" section is configured`,
          `add auth.jwt, or set builtins.${name}.auth: public`,
        ),
      );
    }
  }
  return problems;
}

function rateLimitProblems(config: FullConfig): Problem[] {
  const problems: Problem[] = [];
  const rl = isObj(config.rateLimit) ? config.rateLimit : undefined;
  const tiers = rl && isObj(rl.tiers) ? Object.keys(rl.tiers) : undefined;
  config.routes.forEach((route, i) => {
    if (route.rateLimit === undefined || route.rateLimit === false) return;
    if (!rl) {
      problems.push(
        warning(
          `routes[${i}].rateLimit`,
          `"${route.prefix}" sets a rate limit, but no "rateLimit" section is configured, so nothing limits it`,
          'add a rateLimit section (store: memory needs nothing else)',
        ),
      );
      return;
    }
    if (!tiers || !isPerTier(route.rateLimit)) return;
    for (const tier of Object.keys(route.rateLimit)) {
      if (tiers.includes(tier)) continue;
      const hint = didYouMean(tier, tiers);
      problems.push(
        error(
          `routes[${i}].rateLimit.${tier}`,
          `unknown tier "${tier}"${hint ? ` (did you mean "${hint}"?)` : ''}`,
          `use one of the tiers under rateLimit.tiers: ${tiers.join(', ')}`,
        ),
      );
    }
  });
  return problems;
}

const isPerTier = (v: unknown): v is Record<string, unknown> =>
  isObj(v) && !('limit' in v && 'windowMs' in v);

function serviceProblems(config: FullConfig): Problem[] {
  const problems: Problem[] = [];
  const mesh = isObj(config.mesh) ? config.mesh : undefined;
  const used = new Set(config.routes.map((r) => r.service));
  for (const [name, service] of Object.entries(config.services)) {
    if (service.discovery === 'consul' && !mesh) {
      problems.push(
        error(
          `services.${name}.discovery`,
          `"consul" discovery needs Consul, but no "mesh" section is configured`,
          'add a mesh section (mesh: { consul: { url: http://127.0.0.1:8500 } }; CONSUL_HTTP_ADDR also works), or list static targets',
        ),
      );
    }
    if (!used.has(name)) {
      problems.push(
        warning(
          `services.${name}`,
          'no route uses this service',
          `add a route with "service: ${name}", or remove it`,
        ),
      );
    }
    const urls = service.targets.map((t) => t.url.replace(/\/+$/, ''));
    const dup = urls.find((u, k) => urls.indexOf(u) !== k);
    if (dup) {
      problems.push(
        warning(
          `services.${name}.targets`,
          `${dup} is listed more than once`,
          'list each target once; use "weight" to send it more',
        ),
      );
    }
  }
  return problems;
}
