import type { IncomingMessage, OutgoingHttpHeaders, ServerResponse } from 'node:http';
import { performance } from 'node:perf_hooks';
import type { Readable } from 'node:stream';
import type { Logger } from 'pino';
import { type GrpcKind, grpcKindOf } from './grpc/protocol.js';
import type { ClientAddress } from './http/client-address.js';
import type { GatewayContext, GatewayState, RequestTrace, RouteMatch, Target } from './types.js';

/** One request's state. A class with fixed fields, so V8 keeps one shape for every request. */
export class RequestContext implements GatewayContext {
  readonly startedAt = performance.now();
  path = '';
  search = '';
  route: RouteMatch | undefined = undefined;
  state: GatewayState = {};
  readonly upstreamHeaders: OutgoingHttpHeaders = {};
  readonly responseHeaders: OutgoingHttpHeaders = {};
  body: Readable;
  target: Target | undefined = undefined;
  bytesSent: number | undefined = undefined;
  /** The gateway answers CORS itself (server.cors is set): an upstream's own CORS headers are dropped. */
  ownsCors = false;
  /** The gRPC protocol the request speaks (from its content type), decided once: errors answer in it. */
  readonly grpc: GrpcKind | undefined;
  /** The call's gRPC status once known (the upstream's, or the gateway's own answer), for the log and metrics. */
  grpcStatus: number | undefined = undefined;
  /** A body read whole by the gateway, kept so a gRPC call refused before the upstream saw it can be sent again. */
  heldBody: Buffer | undefined = undefined;
  trace: RequestTrace | undefined = undefined;
  #log: Logger | undefined = undefined;

  constructor(
    readonly req: IncomingMessage,
    readonly res: ServerResponse,
    readonly requestId: string,
    public traceparent: string,
    readonly forwarded: ClientAddress,
    private readonly rootLogger: Logger,
  ) {
    this.body = req;
    this.grpc = grpcKindOf(req.headers['content-type']);
  }

  get clientIp(): string {
    return this.forwarded.ip;
  }

  get protocol(): 'http' | 'https' {
    return this.forwarded.protocol;
  }

  /** Created on first use: most requests never log anything but their access line. */
  get log(): Logger {
    this.#log ??= this.rootLogger.child({ reqId: this.requestId });
    return this.#log;
  }
}
