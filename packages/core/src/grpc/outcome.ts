import type { ServerHttp2Stream } from 'node:http2';
import type { GatewayContext } from '../types.js';
import { GrpcStatus, parseGrpcStatus } from './status.js';

/**
 * The gRPC status a call ended with, once its response closed: the gateway's own answer or the
 * gRPC-Web bridge's note when set, else what went out on the HTTP/2 stream (trailers, or the
 * headers of a trailers-only answer). A call that ended without one was cut: CANCELLED when the
 * client left, else UNKNOWN.
 */
export function grpcStatusAtEnd(ctx: GatewayContext, httpStatus: number): number {
  if (ctx.grpcStatus !== undefined) return ctx.grpcStatus;
  const stream = (ctx.res as { stream?: ServerHttp2Stream }).stream;
  if (stream !== undefined) {
    const sent = stream.sentTrailers?.['grpc-status'] ?? stream.sentHeaders?.['grpc-status'];
    const status = parseGrpcStatus(sent);
    if (status !== undefined) return status;
  }
  if (httpStatus === 499) return GrpcStatus.CANCELLED;
  // An upstream that answered plain HTTP: what a gRPC client makes of it (http-grpc-status-mapping.md).
  return FROM_HTTP[httpStatus] ?? GrpcStatus.UNKNOWN;
}

const FROM_HTTP: Readonly<Record<number, number>> = {
  400: GrpcStatus.INTERNAL,
  401: GrpcStatus.UNAUTHENTICATED,
  403: GrpcStatus.PERMISSION_DENIED,
  404: GrpcStatus.UNIMPLEMENTED,
  429: GrpcStatus.UNAVAILABLE,
  502: GrpcStatus.UNAVAILABLE,
  503: GrpcStatus.UNAVAILABLE,
  504: GrpcStatus.UNAVAILABLE,
};

const NAMES = Object.keys(GrpcStatus);

/** The status's name for a metric label (`OK`, `UNAVAILABLE`); a fixed set, whatever an upstream sends. */
export function grpcStatusName(status: number): string {
  return NAMES[status] ?? 'UNKNOWN';
}
