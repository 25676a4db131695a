import type { GatewayContext } from '../types.js';

export interface RootInfo {
  name: string;
  version: string;
  /** Where the gateway's documentation lives (the /docs page when it is on; asked per request). */
  docs(): string;
  /** The route prefixes of the current config (asked per request, so a reload shows at once). */
  prefixes(): string[];
}

/**
 * The root built-in (`GET /`): who answers and which prefixes it routes.
 *
 * @example
 * rootHandler({ name: 'lucid-api-gateway', version, docs, prefixes: () => ['/auth', '/sessions'] })
 * // GET / -> { "name": "lucid-api-gateway", "version": "0.1.0", "docs": "...", "routes": ["/auth", "/sessions"] }
 */
export function rootHandler(info: RootInfo): (ctx: GatewayContext) => Promise<void> {
  return async function root(ctx: GatewayContext): Promise<void> {
    const body = JSON.stringify({
      name: info.name,
      version: info.version,
      docs: info.docs(),
      routes: info.prefixes(),
    });
    ctx.res.writeHead(200, {
      ...ctx.responseHeaders,
      'content-type': 'application/json',
      'content-length': Buffer.byteLength(body),
      'cache-control': 'no-store',
      'x-request-id': ctx.requestId,
    });
    ctx.res.end(ctx.req.method === 'HEAD' ? undefined : body);
  };
}
