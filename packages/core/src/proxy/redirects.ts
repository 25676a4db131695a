import type { IncomingHttpHeaders, OutgoingHttpHeaders } from 'node:http';
import type { GatewayContext, RoutedContext } from '../types.js';

/** A Host the gateway may put in a URL: a name or address and a port, nothing that ends the authority. */
const PLAIN_HOST = /^(?:[a-z0-9.-]+|\[[0-9a-f:.]+\])(?::\d{1,5})?$/i;

/**
 * Rewrites `Location` and `Content-Location` that name the upstream target, as nginx's
 * `proxy_redirect default` does, so an upstream's address never reaches a client and a redirect
 * lands under the route it came through:
 * - `http://target:port/x` (the target's own origin, or `//target:port/x`) becomes the gateway's
 *   public origin (the request's scheme and Host, from X-Forwarded-* only when sent by a trusted
 *   proxy; Host passed the allow-list) plus the route's stripped prefix plus `/x`;
 * - a path `/x` becomes the prefix plus `/x` when the route strips its prefix;
 * - any other origin and relative references (`x`, `../x`) stay as sent.
 * A route with `redirects: preserve` keeps them as the upstream wrote them.
 */
export function rewriteRedirects(ctx: GatewayContext, out: OutgoingHttpHeaders | IncomingHttpHeaders): void {
  // Only a routed request that reached a target has an upstream answer to rewrite.
  if (ctx.target === undefined || ctx.route === undefined) return;
  if (ctx.route.route.config.redirects === 'preserve') return;
  for (const name of ['location', 'content-location'] as const) {
    const value = out[name];
    if (typeof value === 'string' && value !== '') out[name] = rewrite(ctx as RoutedContext, value);
  }
}

function rewrite(ctx: RoutedContext, value: string): string {
  const target = ctx.target!.url;
  if (value.startsWith('/') && !value.startsWith('//') && !value.startsWith('/\\')) {
    return mountPrefix(ctx) + value;
  }
  let url: URL;
  try {
    url = new URL(value, target);
  } catch {
    return value;
  }
  // Only absolute (or scheme-relative) references naming the target itself.
  if (url.origin !== target.origin || !/^(?:[a-z][a-z0-9+.-]*:)?\/\//i.test(value)) return value;
  const host = ctx.forwarded.host;
  const origin = host !== undefined && PLAIN_HOST.test(host) ? `${ctx.protocol}://${host}` : '';
  return `${origin}${mountPrefix(ctx)}${url.pathname}${url.search}${url.hash}`;
}

/** The part of the request path the route stripped before forwarding (empty when it strips nothing). */
function mountPrefix(ctx: RoutedContext): string {
  const { path } = ctx;
  const upstream = ctx.route.upstreamPath;
  if (upstream === path) return '';
  if (upstream === '/' && !path.endsWith('/')) return path;
  return path.slice(0, path.length - upstream.length);
}
