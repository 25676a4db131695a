import type { Logger } from 'pino';
import type { GatewayContext } from '../types.js';
import { rawLineTargetOf } from './logger.js';

/** The fields of an access line, in their order. Nothing else: no headers, no query (both may carry credentials). */
function fieldsOf(ctx: GatewayContext, status: number, bytes: number) {
  return {
    reqId: ctx.requestId,
    method: ctx.req.method,
    path: ctx.path,
    // Null when the request failed before routing (404, bad path).
    route: ctx.route?.route.id ?? null,
    status,
    ms: Math.round((performance.now() - ctx.startedAt) * 100) / 100,
    upstream: ctx.target?.id ?? null,
    bytes,
    ip: ctx.clientIp,
    /** The client's HTTP version: "1.1", "1.0" or "2.0". */
    http: ctx.req.httpVersion,
    // Only on gRPC calls, so plain HTTP lines stay as they were.
    ...(ctx.grpc !== undefined && { grpcStatus: ctx.grpcStatus ?? null }),
    // Only when a tracer follows the request: the ids to find its trace by.
    ...(ctx.trace !== undefined && { traceId: ctx.trace.traceId, spanId: ctx.trace.spanId }),
  };
}

/**
 * Writes the one access-log line of a request through `logger`.
 *
 * @example
 * res.on('finish', () => logAccess(logger, ctx, res.statusCode, bytes));
 */
export function logAccess(logger: Logger, ctx: GatewayContext, status: number, bytes: number): void {
  logger.info(fieldsOf(ctx, status, bytes), 'request');
}

export type AccessLog = (ctx: GatewayContext, status: number, bytes: number) => void;

const INFO = 30;
const q = JSON.stringify;

/**
 * The access log of a gateway. For a JSON logger made by `createLogger` the line is composed as
 * one string and handed to the logger's destination: the same line pino would write, for a fifth
 * of the cost (serializing through pino was about 15% of a proxied request's CPU). Any other
 * logger (pretty, or an embedding app's own) gets an ordinary `logger.info` call.
 */
export function accessLog(logger: Logger): AccessLog {
  const raw = rawLineTargetOf(logger);
  if (!raw) return (ctx, status, bytes) => logAccess(logger, ctx, status, bytes);
  const { stream, bindings } = raw;
  return function accessLine(ctx, status, bytes) {
    // The level can change at run time (logger.level = 'warn').
    if (logger.levelVal > INFO) return;
    const f = fieldsOf(ctx, status, bytes);
    stream.write(
      `{"level":"info","time":${Date.now()}${bindings},"reqId":${q(f.reqId)},"method":${q(f.method)},"path":${q(f.path)},"route":${q(f.route)},"status":${f.status},"ms":${f.ms},"upstream":${q(f.upstream)},"bytes":${f.bytes},"ip":${q(f.ip)},"http":${q(f.http)}${f.grpcStatus === undefined ? '' : `,"grpcStatus":${f.grpcStatus}`}${f.traceId === undefined ? '' : `,"traceId":${q(f.traceId)},"spanId":${q(f.spanId)}`},"msg":"request"}
`,
    );
  };
}
