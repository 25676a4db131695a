import type { Registry } from 'prom-client';
import type { GatewayContext } from '../types.js';

/**
 * The metrics built-in (`GET /metrics`): the gateway's registry, plugins' metrics included,
 * in the Prometheus text format.
 *
 * @example
 * metricsHandler(gateway.registry) // GET /metrics -> lucid_gateway_http_requests_total{...} 42
 */
export function metricsHandler(registry: Registry): (ctx: GatewayContext) => Promise<void> {
  return async function metrics(ctx: GatewayContext): Promise<void> {
    const body = await registry.metrics();
    ctx.res.writeHead(200, {
      ...ctx.responseHeaders,
      'content-type': registry.contentType,
      'content-length': Buffer.byteLength(body),
      'cache-control': 'no-store',
      'x-request-id': ctx.requestId,
    });
    ctx.res.end(ctx.req.method === 'HEAD' ? undefined : body);
  };
}
