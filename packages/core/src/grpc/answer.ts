import type { OutgoingHttpHeaders, ServerResponse } from 'node:http';
import type { ServerHttp2Stream } from 'node:http2';
import type { GatewayError } from '../errors.js';
import { endWithHeaders } from '../http/end-with-headers.js';
import { HTTP2_FORBIDDEN } from '../proxy/headers.js';
import type { GatewayContext } from '../types.js';
import { grpcFormat } from './protocol.js';
import { encodeGrpcMessage, grpcStatusOf } from './status.js';

/** Headers HTTP/2 forbids (RFC 9113 §8.2.2) and that mean nothing in a trailers-only answer. */
const NOT_IN_GRPC = new Set([...HTTP2_FORBIDDEN, 'content-length']);

/** A response that can end with trailers after its headers went out (HTTP/2, or the gRPC-Web bridge). */
interface MayTrail {
  readonly grpcWebBridge?: true;
  readonly stream?: ServerHttp2Stream;
}

/** The content type of an answer to a call of this protocol (`application/grpc-web-text+proto`, ...). */
export function grpcContentType(ctx: GatewayContext): string {
  const format = grpcFormat(ctx.req.headers['content-type']) || '+proto';
  switch (ctx.grpc) {
    case 'grpc-web':
      return `application/grpc-web${format}`;
    case 'grpc-web-text':
      return `application/grpc-web-text${format}`;
    default:
      return `application/grpc${format === '+proto' ? '' : format}`;
  }
}

/**
 * Answers a gRPC call the gateway refuses as gRPC clients expect it: "trailers-only", HTTP 200
 * with `grpc-status` and a percent-encoded `grpc-message` in the headers and no body, plus the
 * gateway's headers (request id, Retry-After, WWW-Authenticate). On HTTP/2 the headers go out with
 * END_STREAM on the HEADERS frame (an extra empty DATA frame leaves gRPC clients without a status).
 * After the headers went out (an upstream that failed mid-stream) it ends the call with trailers
 * where the protocol allows, so the client reads a status rather than a cut stream.
 */
export function sendGrpcProblem(ctx: GatewayContext, problem: GatewayError): void {
  const res = ctx.res as ServerResponse & MayTrail;
  const status = grpcStatusOf(problem);
  const message = encodeGrpcMessage(problem.detail ?? problem.title);
  ctx.grpcStatus = status;
  if (res.headersSent) {
    const canTrail = res.grpcWebBridge === true || ctx.req.httpVersionMajor === 2;
    if (canTrail && !res.writableEnded && !res.destroyed) {
      res.addTrailers({ 'grpc-status': String(status), 'grpc-message': message });
      res.end();
    } else {
      res.destroy();
    }
    return;
  }
  const headers: OutgoingHttpHeaders = {};
  for (const source of [ctx.responseHeaders, problem.headers]) {
    if (source === undefined) continue;
    for (const name in source) if (!NOT_IN_GRPC.has(name)) headers[name] = source[name];
  }
  headers['content-type'] = grpcContentType(ctx);
  headers['grpc-status'] = String(status);
  headers['grpc-message'] = message;
  headers['x-request-id'] = ctx.requestId;
  const stream = res.stream;
  if (ctx.req.httpVersionMajor === 2 && stream !== undefined && res.grpcWebBridge !== true) {
    if (stream.destroyed || stream.closed) return;
    endWithHeaders(res as ServerResponse & { stream: ServerHttp2Stream }, 200, headers);
    return;
  }
  // HTTP/1.1 (gRPC-Web): a body the gateway refused unread leaves the connection unusable.
  if (problem.code === 'GW_BODY_TOO_LARGE' || problem.headers?.connection === 'close')
    headers.connection = 'close';
  res.writeHead(200, headers);
  res.end();
}
