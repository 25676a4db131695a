import type { ConfigIssue } from './errors.js';
import { didYouMean } from './suggest.js';
import type { ConfigView } from './view.js';

/** What a plugin declares (`GatewayPlugin.provides`) when it verifies who is calling. */
export const AUTHENTICATION = 'authentication';
/** What a plugin declares when it brings the HTTPS port's certificates (`GatewayPlugin.certificates`). */
export const CERTIFICATES = 'certificates';

/**
 * Core's own checks across settings: routes that can never match, every route names a known
 * service, (fail closed) no route needs a verified identity unless a plugin authenticates; and
 * doubts worth a warning (unused services, repeated targets, a route over a built-in).
 */
export function coreChecks(view: ConfigView): ConfigIssue[] {
  return [
    ...shadowedRoutes(view),
    ...unauthenticated(view),
    ...uncertified(view),
    ...unknownServices(view),
    ...serviceDoubts(view),
    ...operatorSurface(view),
  ];
}

/**
 * The admin listener apart from the public port; without one, a warning while `/metrics` is open
 * to anyone on the public port (its labels name every target's address).
 */
function operatorSurface({ config }: ConfigView): ConfigIssue[] {
  const { admin, port } = config.server;
  if (admin) {
    return admin.port !== 0 && admin.port === port
      ? [
          {
            path: 'server.admin.port',
            message: `${admin.port} is the public port too: the admin listener needs a port of its own`,
            fix: 'pick another port, such as 9901',
          },
        ]
      : [];
  }
  const metrics = config.builtins.metrics;
  if (!metrics || metrics.auth !== 'public') return [];
  return [
    {
      path: 'builtins.metrics',
      message: `${metrics.path} is served on the public port to anyone, and its labels name every upstream target's address`,
      fix: 'set server.admin: { port: 9901 } to serve it on an admin listener (or builtins.metrics.auth: required with a scope)',
      severity: 'warning',
    },
  ];
}

/** `/users/:id/` and `/users/:x` route the same paths. */
const shapeOf = (prefix: string) => prefix.replace(/\/:[^/]+/g, '/:').replace(/(.)\/+$/, '$1');

/** Routes that can never match (an earlier one takes the same requests), and routes over a built-in. */
function shadowedRoutes({ config, routePath }: ConfigView): ConfigIssue[] {
  const issues: ConfigIssue[] = [];
  config.routes.forEach((route, i) => {
    const at = routePath(route);
    const shape = shapeOf(route.prefix);
    for (let j = 0; j < i; j++) {
      const earlier = config.routes[j]!;
      if (shapeOf(earlier.prefix) !== shape || earlier.host !== route.host) continue;
      const covered =
        !earlier.methods || (route.methods?.every((m) => earlier.methods!.includes(m)) ?? false);
      if (!covered) continue;
      issues.push({
        path: `${at}.prefix`,
        message: `"${route.prefix}" can never match: ${routePath(earlier)} ("${earlier.prefix}"${earlier.methods ? ` ${earlier.methods.join(',')}` : ''}) takes the same requests`,
        fix: 'remove one of the two, or tell them apart with "methods" or "host"',
      });
      break;
    }
    for (const [name, builtin] of Object.entries(config.builtins)) {
      if (builtin === false || route.host !== undefined || shapeOf(builtin.path) !== shape) continue;
      issues.push({
        path: `${at}.prefix`,
        message: `"${route.prefix}" takes over the built-in ${name} endpoint at ${builtin.path} (the route wins)`,
        fix: `if that is meant, say so with builtins.${name}: false; else move the built-in (builtins.${name}.path) or the route`,
        severity: 'warning',
      });
    }
  });
  return issues;
}

/** Services nobody routes to, targets listed twice. */
function serviceDoubts({ config }: ConfigView): ConfigIssue[] {
  const issues: ConfigIssue[] = [];
  const used = new Set(config.routes.map((r) => r.service));
  for (const [name, service] of Object.entries(config.services)) {
    if (!used.has(name)) {
      issues.push({
        path: `services.${name}`,
        message: 'no route uses this service',
        fix: `add a route with "service: ${name}", or remove it`,
        severity: 'warning',
      });
    }
    issues.push(...http2Doubts(name, service));
    const urls = service.targets.map((t) => t.url.replace(/\/+$/, ''));
    const dup = urls.find((u, k) => urls.indexOf(u) !== k);
    if (dup) {
      issues.push({
        path: `services.${name}.targets`,
        message: `${dup} is listed more than once`,
        fix: 'list each target once; use "weight" to send it more',
        severity: 'warning',
      });
    }
  }
  return issues;
}

/** h2c:// targets speak HTTP/2 only: a service cannot both have them and say `http2: false`, or mix them. */
function http2Doubts(name: string, service: ConfigView['config']['services'][string]): ConfigIssue[] {
  const h2c = service.targets.filter((t) => t.url.startsWith('h2c:'));
  if (h2c.length === 0) return [];
  if (service.http2 === false) {
    return [
      {
        path: `services.${name}.http2`,
        message: 'h2c:// targets are cleartext HTTP/2, but "http2" is false',
        fix: 'remove "http2: false", or list the targets as http://',
      },
    ];
  }
  if (service.http2 === undefined && h2c.length < service.targets.length) {
    return [
      {
        path: `services.${name}.targets`,
        message: 'mixes h2c:// targets with others; a service speaks one protocol to all of its targets',
        fix: 'write every target as h2c://, or set "http2: true" (then http:// targets are h2c too)',
      },
    ];
  }
  return [];
}

function unknownServices({ config, routePath, invalidServices }: ConfigView): ConfigIssue[] {
  const names = [...Object.keys(config.services), ...invalidServices];
  const issues: ConfigIssue[] = [];
  for (const route of config.routes) {
    // Own keys only: "constructor" or "__proto__" must not pass as a service.
    if (Object.hasOwn(config.services, route.service) || invalidServices.has(route.service)) continue;
    const hint = didYouMean(route.service, names);
    issues.push({
      path: `${routePath(route)}.service`,
      message: `unknown service "${route.service}"${hint ? ` (did you mean "${hint}"?)` : names.length ? ` (known: ${names.join(', ')})` : ''}`,
      fix: hint ? `write "${hint}"` : 'add the service under "services", or route to one that is there',
    });
  }
  return issues;
}

/** `server.tls.acme` needs the engine that orders certificates (a plugin, loaded only when it is configured). */
function uncertified({ config, provides }: ConfigView): ConfigIssue[] {
  if (!config.server.tls?.acme || provides.has(CERTIFICATES)) return [];
  return [
    {
      path: 'server.tls.acme',
      message:
        'no plugin brings the certificates (one that provides "certificates"; the lucid-gateway CLI adds the ACME engine for this section)',
      fix: "run it with the lucid-gateway CLI, or add the ACME plugin to the gateway's plugins (docs/deploying.md)",
    },
  ];
}

function unauthenticated({ config, routePath, provides }: ConfigView): ConfigIssue[] {
  const issues: ConfigIssue[] = [];
  const authenticates = provides.has(AUTHENTICATION);
  for (const route of config.routes) {
    const at = routePath(route);
    if (route.auth === 'public') {
      if (route.scopes.length > 0) {
        issues.push({
          path: `${at}.auth`,
          message: `"${route.prefix}" is public but lists scopes, which only a verified identity can have`,
          fix: 'remove "auth: public", or drop the scopes',
        });
      }
    } else if (!authenticates) {
      issues.push({
        path: `${at}.auth`,
        message: `"${route.name ?? route.prefix}" needs a verified identity (routes do unless they say "auth: public"), but nothing authenticates (no plugin provides authentication)`,
        fix: 'configure a plugin that authenticates, or set "auth: public" on this route',
      });
    }
  }
  if (!authenticates) {
    for (const [name, builtin] of Object.entries(config.builtins)) {
      if (builtin === false || builtin.auth !== 'required') continue;
      issues.push({
        path: `builtins.${name}.auth`,
        message: `the ${name} endpoint needs a verified identity, but no plugin authenticates`,
        fix: `configure a plugin that authenticates, or set builtins.${name}.auth: public`,
      });
    }
  }
  return issues;
}
