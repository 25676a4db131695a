import { HTTP_METHODS } from '../config/values.js';
import type { RequestContext } from '../context.js';
import { GatewayError } from '../errors.js';
import { hasDuplicateHost } from '../http/client-address.js';
import { normalizePath } from '../http/normalize-path.js';
import type { Router } from '../routing/router.js';
import type { Runtime } from '../runtime.js';
import type { RoutedContext } from '../types.js';

/**
 * The checks before a route's chain: normalize the path once (routing, authorization and forwarding
 * all use it), drop client-sent identity headers, check the Host, answer a CORS preflight, route.
 * Returns false when the request was answered already (a preflight); throws a `GatewayError` to refuse.
 */
export function routeRequest(
  ctx: RequestContext,
  rt: Runtime,
  router: Router = rt.router,
): ctx is RequestContext & RoutedContext {
  const { path, search } = normalizePath(ctx.req.url ?? '');
  ctx.path = path;
  ctx.search = search;
  // Fail closed, with or without an auth plugin: a client never speaks for the identity.
  rt.stripIdentity(ctx.req.headers);
  if (hasDuplicateHost(ctx.req.rawHeaders)) {
    throw new GatewayError('GW_BAD_REQUEST', { detail: 'more than one Host header' });
  }
  // Node requires a Host of HTTP/1.1 requests itself; an HTTP/2 request needs `:authority` or Host.
  if (ctx.req.headers.host === undefined && ctx.req.httpVersionMajor === 2) {
    throw new GatewayError('GW_BAD_REQUEST', { detail: 'no :authority or Host header' });
  }
  rt.checkHost?.(ctx);
  if (rt.cors?.(ctx)) return false;
  const match = router.match(ctx.req.method ?? 'GET', ctx.forwarded.host, path);
  if ('miss' in match) {
    throw match.miss === 404
      ? new GatewayError('GW_ROUTE_NOT_FOUND', { detail: `no route for ${path}` })
      : new GatewayError('GW_METHOD_NOT_ALLOWED', { headers: { allow: match.allow.join(', ') } });
  }
  ctx.route = match;
  // Only a route without a method list takes TRACE here; it would echo cookies and credentials back (XST).
  if (ctx.req.method === 'TRACE') {
    throw new GatewayError('GW_METHOD_NOT_ALLOWED', { headers: { allow: HTTP_METHODS.join(', ') } });
  }
  return true;
}
