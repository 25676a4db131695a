import type { OutgoingHttpHeaders } from 'node:http';
import { ConfigError } from '../config/errors.js';
import type { ServerConfig } from '../config/schema.js';
import { GatewayError } from '../errors.js';
import type { GatewayContext } from '../types.js';

/** An allow-list entry as browsers serialize `Origin`: lowercase scheme and host, no default port, no path. */
function originOf(entry: string, index: number): string {
  let url: URL | undefined;
  try {
    url = new URL(entry);
  } catch {}
  if (!url || (url.protocol !== 'http:' && url.protocol !== 'https:') || url.pathname !== '/' || url.search) {
    throw new ConfigError([
      {
        path: `server.cors.origins[${index}]`,
        message: `"${entry}" is not an origin (write it like "https://app.lucid.dev" or "http://localhost:3000")`,
      },
    ]);
  }
  return url.origin;
}

/**
 * CORS with an exact origin allow-list. Returns `true` when it answered the request itself
 * (a preflight), `false` to let the request continue. Origins are compared whole
 * (scheme, host and port), never by substring; `*` is only allowed without credentials.
 *
 * @example
 * const handle = cors({ origins: ['https://app.lucid.dev'], credentials: true, ...defaults });
 * if (handle?.(ctx)) return; // preflight answered
 */
export function cors(opts: ServerConfig['cors']): ((ctx: GatewayContext) => boolean) | undefined {
  if (!opts) return undefined;
  const any = opts.origins.includes('*');
  if (any && opts.credentials) {
    throw new ConfigError([
      {
        path: 'server.cors.origins',
        message: '"*" cannot be combined with "credentials: true"; list the allowed origins instead',
      },
    ]);
  }
  const allowed = new Set(opts.origins.flatMap((o, i) => (o === '*' ? [] : [originOf(o, i)])));
  const expose = opts.exposeHeaders.join(', ');
  const preflightHeaders: OutgoingHttpHeaders = {
    'access-control-allow-methods': opts.methods.join(', '),
    'access-control-allow-headers': opts.headers.join(', '),
    'access-control-max-age': String(Math.floor(opts.maxAge / 1000)),
    // Preflight answers depend on these request headers too, so caches must key on them.
    vary: 'Origin, Access-Control-Request-Method, Access-Control-Request-Headers',
    'content-length': '0',
  };

  return function cors(ctx: GatewayContext): boolean {
    const headers = ctx.req.headers;
    const origin = headers.origin;
    const out = ctx.responseHeaders;
    (ctx as { ownsCors?: boolean }).ownsCors = true;
    // With a list, the answer depends on Origin; say so even when it is absent, so caches do not mix them.
    if (!any) out.vary = 'Origin';
    if (origin === undefined) return false;
    const ok = any || allowed.has(origin);
    const preflight = ctx.req.method === 'OPTIONS' && headers['access-control-request-method'] !== undefined;
    if (!ok) {
      if (preflight) throw new GatewayError('GW_FORBIDDEN', { detail: 'origin not allowed' });
      return false;
    }
    out['access-control-allow-origin'] = any ? '*' : origin;
    if (opts.credentials) out['access-control-allow-credentials'] = 'true';
    if (!preflight) {
      if (expose) out['access-control-expose-headers'] = expose;
      return false;
    }
    ctx.res.writeHead(204, { ...out, ...preflightHeaders, 'x-request-id': ctx.requestId });
    ctx.res.end();
    return true;
  };
}
