import type { Logger } from 'pino';
import type { GatewayContext } from '../types.js';

/**
 * Writes the one access-log line of a request. Only what identifies and measures the request:
 * no headers, no query string (both may carry credentials).
 *
 * @example
 * res.on('finish', () => logAccess(logger, ctx, res.statusCode, bytes));
 */
export function logAccess(logger: Logger, ctx: GatewayContext, status: number, bytes: number): void {
  logger.info(
    {
      reqId: ctx.requestId,
      method: ctx.req.method,
      path: ctx.path,
      // Undefined when the request failed before routing (404, bad path).
      route: ctx.route?.route.id ?? null,
      status,
      ms: Math.round((performance.now() - ctx.startedAt) * 100) / 100,
      upstream: ctx.target?.id ?? null,
      bytes,
      ip: ctx.clientIp,
    },
    'request',
  );
}
