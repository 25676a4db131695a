import type { Registry } from 'prom-client';
import { sendText } from '../http/send-json.js';
import type { RoutedContext } from '../types.js';

/**
 * The metrics built-in (`GET /metrics`): the gateway's registry, plugins' metrics included,
 * in the Prometheus text format.
 *
 * @example
 * metricsHandler(gateway.registry) // GET /metrics -> lucid_gateway_http_requests_total{...} 42
 */
export function metricsHandler(registry: Registry): (ctx: RoutedContext) => Promise<void> {
  return async function metrics(ctx: RoutedContext): Promise<void> {
    const body = await registry.metrics();
    sendText(ctx.res, 200, body, registry.contentType, {
      requestId: ctx.requestId,
      method: ctx.req.method,
      headers: ctx.responseHeaders,
    });
  };
}
