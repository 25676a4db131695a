import type { OutgoingHttpHeaders } from 'node:http';
import type { GatewayContext } from '@lucid/gateway-core';
import type { OpenApiCatalog } from './catalog.js';

/** Writes one whole answer (HEAD gets the headers only). */
export function sendBody(
  ctx: GatewayContext,
  status: number,
  headers: OutgoingHttpHeaders,
  body: string | Buffer,
): void {
  ctx.res.writeHead(status, {
    ...ctx.responseHeaders,
    ...headers,
    'content-length': Buffer.byteLength(body),
    'x-content-type-options': 'nosniff',
    'x-request-id': ctx.requestId,
  });
  ctx.res.end(ctx.req.method === 'HEAD' ? undefined : body);
}

/** Answers with the merged document as JSON, or as YAML when the path ends in `.yaml`/`.yml`. */
export async function sendOpenApi(ctx: GatewayContext, catalog: OpenApiCatalog): Promise<void> {
  const rendered = catalog.render();
  const yaml = /\.ya?ml$/.test(ctx.path);
  sendBody(
    ctx,
    200,
    {
      'content-type': yaml ? 'application/yaml; charset=utf-8' : 'application/json',
      'cache-control': 'no-cache',
    },
    yaml ? await rendered.yaml() : rendered.json,
  );
}

/**
 * The `/openapi.json` built-in (its `.yaml` twin is mounted beside it).
 *
 * @example openapiHandler(catalog) // GET /openapi.json -> the merged OpenAPI 3.1 document
 */
export function openapiHandler(catalog: OpenApiCatalog): (ctx: GatewayContext) => Promise<void> {
  return async function openapi(ctx: GatewayContext): Promise<void> {
    await sendOpenApi(ctx, catalog);
  };
}
