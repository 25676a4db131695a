import { ConfigError } from '../config/errors.js';
import type { RouteConfig, ServerConfig } from '../config/schema.js';
import { GatewayError } from '../errors.js';
import type { GatewayContext, Middleware } from '../types.js';

/** An allow-list entry as browsers serialize `Origin`: lowercase scheme and host, no default port. */
function originOf(entry: string, path: string): string {
  try {
    const url = new URL(entry);
    if ((url.protocol === 'http:' || url.protocol === 'https:') && url.pathname === '/' && !url.search) {
      return url.origin;
    }
  } catch {}
  throw new ConfigError([
    { path, message: `"${entry}" is not an origin (write it like "https://app.lucid.dev")` },
  ]);
}

/** `Host` as an origin's host would read: lowercase, the scheme's default port dropped. */
function hostAsOrigin(host: string, scheme: string): string {
  const h = host.toLowerCase().replace(/\.$/, '');
  const port = scheme === 'https:' ? ':443' : ':80';
  return h.endsWith(port) ? h.slice(0, -port.length) : h;
}

/**
 * Checks `Origin` on WebSocket handshakes (RFC 6455 §10.2): browsers apply no CORS to WebSockets
 * and send cookies along, so a foreign page could otherwise open an authenticated socket
 * (cross-site WebSocket hijacking). The list is the route's `websocket.origins`, else
 * `server.cors.origins`; `*` allows any. With no list, only same-origin handshakes pass (the
 * Origin's host is the request's Host). No `Origin` at all is a non-browser client and passes:
 * browsers always send it. `Origin: null` (sandboxed pages, file:) passes only with `*`.
 *
 * @example
 * const check = websocketOrigin(route.config, config.server.cors, 'routes[0]');
 */
export function websocketOrigin(route: RouteConfig, cors: ServerConfig['cors'], where: string): Middleware {
  const own = typeof route.websocket === 'object' ? route.websocket.origins : undefined;
  const entries = own ?? (cors?.origins.length ? cors.origins : undefined);
  const listPath = own ? `${where}.websocket.origins` : 'server.cors.origins';
  const any = entries?.includes('*') ?? false;
  const allowed =
    entries && new Set(entries.filter((o) => o !== '*').map((o, i) => originOf(o, `${listPath}[${i}]`)));

  return async function websocketOrigin(ctx: GatewayContext, next: () => Promise<void>) {
    const origin = ctx.req.headers.origin;
    if (origin !== undefined && !any && !originAllowed(origin, allowed, ctx)) {
      throw new GatewayError('GW_FORBIDDEN', { detail: 'WebSocket origin not allowed' });
    }
    await next();
  };
}

function originAllowed(origin: string, allowed: Set<string> | undefined, ctx: GatewayContext): boolean {
  if (allowed) return allowed.has(origin.toLowerCase());
  // Same-origin only: the page was served by this host.
  let url: URL;
  try {
    url = new URL(origin);
  } catch {
    return false;
  }
  const host = ctx.forwarded.host;
  return host !== undefined && url.origin !== 'null' && url.host === hostAsOrigin(host, url.protocol);
}
