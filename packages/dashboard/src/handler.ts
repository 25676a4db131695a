import type { OutgoingHttpHeaders } from 'node:http';
import { GatewayError, type RoutedContext } from '@lucid/gateway-core';
import { chartAsset } from './chart-assets.js';
import { PAGE_CSS, PAGE_ICON, PAGE_SCRIPT, pageHtml } from './page.js';
import { type DashboardSources, dashboardState } from './state.js';

// The page loads only its own script, style and state: no inline code, no other origin, no framing.
const SECURITY_HEADERS: OutgoingHttpHeaders = {
  'content-security-policy':
    "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self'; " +
    "base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
  'x-content-type-options': 'nosniff',
  'x-frame-options': 'DENY',
  'referrer-policy': 'no-referrer',
  'cross-origin-resource-policy': 'same-origin',
  'cache-control': 'no-store',
};

function send(
  ctx: RoutedContext,
  status: number,
  type: string,
  body: string,
  extra?: OutgoingHttpHeaders,
): void {
  ctx.res.writeHead(status, {
    ...ctx.responseHeaders,
    ...SECURITY_HEADERS,
    ...extra,
    'content-type': type,
    'content-length': Buffer.byteLength(body),
    'x-request-id': ctx.requestId,
  });
  ctx.res.end(ctx.req.method === 'HEAD' ? undefined : body);
}

export interface DashboardOptions extends DashboardSources {
  /** How often the page polls `state.json`, in ms (asked per page load: a reload may change it). */
  refreshMs(): number;
}

/**
 * The dashboard built-in, mounted at `builtins.ui.path` behind the route's chain (auth, scopes):
 * `<path>/` the page, `<path>/app.js`, `<path>/app.css` and the chart library (`uplot.js`,
 * `uplot.css`) its assets, `<path>/state.json` the
 * live state it polls. `<path>` itself redirects to `<path>/`, so the page's relative URLs resolve.
 *
 * @example
 * dashboardHandler({ ...sources, refreshMs: () => 2000 }) // GET /ui/state.json -> { gateway, routes, services, ... }
 */
export function dashboardHandler(opts: DashboardOptions): (ctx: RoutedContext) => Promise<void> {
  const readState = dashboardState(opts);
  let page = { refreshMs: -1, html: '' };
  const html = () => {
    const refreshMs = opts.refreshMs();
    if (page.refreshMs !== refreshMs) page = { refreshMs, html: pageHtml({ title: opts.name, refreshMs }) };
    return page.html;
  };
  return async function dashboard(ctx: RoutedContext): Promise<void> {
    switch (ctx.route.upstreamPath) {
      case '/':
      case '': {
        if (!ctx.path.endsWith('/')) {
          // Relative, so it stays right behind a proxy that mounts the gateway under a prefix.
          const last = ctx.path.slice(ctx.path.lastIndexOf('/') + 1);
          send(ctx, 308, 'text/plain; charset=utf-8', 'see the page with a trailing slash\n', {
            location: `${last}/${ctx.search}`,
          });
          return;
        }
        send(ctx, 200, 'text/html; charset=utf-8', html());
        return;
      }
      case '/app.js':
        send(ctx, 200, 'text/javascript; charset=utf-8', PAGE_SCRIPT);
        return;
      case '/app.css':
        send(ctx, 200, 'text/css; charset=utf-8', PAGE_CSS);
        return;
      case '/uplot.js':
        send(ctx, 200, 'text/javascript; charset=utf-8', await chartAsset('uplot.js'));
        return;
      case '/uplot.css':
        send(ctx, 200, 'text/css; charset=utf-8', await chartAsset('uplot.css'));
        return;
      case '/favicon.svg':
        send(ctx, 200, 'image/svg+xml', PAGE_ICON);
        return;
      case '/state.json':
        send(ctx, 200, 'application/json', JSON.stringify(await readState()));
        return;
      default:
        throw new GatewayError('GW_ROUTE_NOT_FOUND', { detail: `no route for ${ctx.path}` });
    }
  };
}
