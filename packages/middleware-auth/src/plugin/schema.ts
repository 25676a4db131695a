import type { ConfigIssue, ErrorSpec, PluginSchema, RouteConfig } from '@lucid/gateway-core';
import { z } from 'zod';
import { type AuthOptionsInput, authConfigSchema } from '../config/schema.js';

/** Claims that must equal (one of) the given values, e.g. `{ role: [admin, ops] }`. */
export const routeClaimsSchema = z.record(z.string(), z.union([z.string(), z.array(z.string())])).optional();

/** A route's settings this plugin reads beyond core's `auth` and `scopes`. */
export type AuthRouteOptions = { claims?: z.output<typeof routeClaimsSchema> };

/** The route's `claims`, as the schema checked them. */
export const claimsOf = (route: RouteConfig) => (route as RouteConfig & AuthRouteOptions).claims;

export const AUTH_ERRORS = {
  // The token may be fine: the keys to check it could not be fetched. Not an upstream's outage.
  GW_AUTH_UNAVAILABLE: { status: 503, title: 'Authentication unavailable' },
} as const satisfies Record<string, ErrorSpec>;

/**
 * What the auth plugin adds to the config: the `auth` section, a route's `claims`, and its error code.
 *
 * @example composeConfigSchema([authPluginSchema])
 */
export const authPluginSchema: PluginSchema = {
  name: 'auth',
  sections: { auth: authConfigSchema },
  route: { claims: routeClaimsSchema },
  errors: AUTH_ERRORS,
  check({ config, routePath }) {
    const issues: ConfigIssue[] = [];
    for (const route of config.routes) {
      if (route.auth === 'public' && claimsOf(route) !== undefined) {
        issues.push({
          path: `${routePath(route)}.auth`,
          message: `"${route.prefix}" is public but lists claims, which only a verified identity can have`,
          fix: 'remove "auth: public", or drop the claims',
        });
      }
    }
    return issues;
  },
  // For the API reference: the claims a route requires, and that a token without them gets 403.
  describeRoute(route) {
    const claims = claimsOf(route);
    return claims ? { extensions: { 'x-required-claims': claims }, mayForbid: true } : undefined;
  },
};

// The `auth` section and a route's `claims`, in the config's type once this package is imported.
declare module '@lucid/gateway-core' {
  interface GatewayConfigExtensions {
    /** JWT and API-key authentication (`@lucid/middleware-auth`). */
    auth?: AuthOptionsInput;
  }
  interface RouteOptionsExtensions {
    /** Claims the verified token must carry on this route: a value, or one of several (`@lucid/middleware-auth`). */
    claims?: z.input<typeof routeClaimsSchema>;
  }
}
