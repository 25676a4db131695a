import type { IncomingMessage, ServerResponse } from 'node:http';
import {
  constants,
  createServer,
  type Http2Server,
  type Http2ServerRequest,
  Http2ServerResponse,
  type ServerHttp2Session,
} from 'node:http2';
import type { Socket } from 'node:net';
import type { ServerConfig } from '../config/schema.js';
import { headArrived } from '../http/connection-guard.js';

/** What every HTTP/2 client sends first (RFC 9113 §3.4); HTTP/1.1 can never start with it. */
const HTTP2_PREFACE = Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n', 'latin1');

/**
 * Node's HTTP/2 response, answering the two questions the request path asks of every response the
 * way `ServerResponse` does: `destroyed` (the client went away: stop work for it, such as an upstream
 * request still queued) and `writableFinished` (the whole answer went out; Node's says true for a
 * stream the client reset, which would log a cancelled request as served). Made on first use, so
 * that `node:http2` is touched only once a client speaks HTTP/2.
 */
let gatewayHttp2Response: typeof Http2ServerResponse | undefined;
function responseClass(): typeof Http2ServerResponse {
  if (gatewayHttp2Response) return gatewayHttp2Response;
  const cls = class GatewayHttp2Response extends Http2ServerResponse {} as typeof Http2ServerResponse;
  // Accessors on the prototype (Node's typings declare both as plain fields).
  Object.defineProperties(cls.prototype, {
    destroyed: {
      get(this: Http2ServerResponse): boolean {
        return this.stream.destroyed;
      },
    },
    writableFinished: {
      get(this: Http2ServerResponse): boolean {
        return this.writableEnded && this.stream.closed && this.stream.rstCode === constants.NGHTTP2_NO_ERROR;
      },
    },
  });
  gatewayHttp2Response = cls;
  return cls;
}

export interface Http2Handlers {
  handler(req: IncomingMessage, res: ServerResponse): void;
}

/**
 * The gateway's HTTP/2 side. It never listens itself: the gateway's HTTP/1.1 (or HTTPS) server owns
 * the port, the connection cap and the first-head guard, and hands over the connections that speak
 * HTTP/2 (by ALPN over TLS, by the preface in cleartext). Its streams reach the same request handler
 * through Node's compatibility objects, so routing, auth, limits, metrics and the access log are the
 * same code for both versions.
 */
class Http2Side {
  readonly #server: Http2Server;
  readonly #sessions = new Set<ServerHttp2Session>();
  readonly #firstStreamTimeout: number;
  readonly #idleTimeout: number;

  constructor(cfg: ServerConfig, on: Http2Handlers) {
    const h2 = cfg.http2;
    this.#firstStreamTimeout = cfg.timeouts.headers;
    this.#idleTimeout = cfg.timeouts.keepAlive;
    this.#server = createServer(
      {
        // In MB; bounds what one connection can make nghttp2 hold (headers, queued frames).
        maxSessionMemory: Math.max(1, Math.round(h2.maxSessionMemory / 1024 ** 2)),
        maxHeaderListPairs: h2.maxHeaderPairs,
        Http2ServerResponse: responseClass(),
        // Both must be set for nghttp2's RST_STREAM rate limit (CVE-2023-44487) to take our values.
        streamResetBurst: h2.resets.burst,
        streamResetRate: h2.resets.rate,
        settings: {
          maxConcurrentStreams: h2.maxConcurrentStreams,
          maxHeaderListSize: cfg.limits.headers,
          enablePush: false,
          enableConnectProtocol: false,
        },
      },
      (req, res) => onStream(req, res, on),
    );
    // Node answers `Expect: 100-continue` itself unless someone listens; the gateway invites bodies.
    this.#server.on('checkContinue', (req: Http2ServerRequest, res: Http2ServerResponse) =>
      onStream(req, res, on),
    );
    this.#server.on('session', (session: ServerHttp2Session) => this.#track(session));
    // A session's error is the client's problem: the session is gone, others go on.
    this.#server.on('sessionError', () => {});
  }

  /** Takes a connection that speaks HTTP/2 (its first bytes may already be unshifted back). */
  accept(socket: Socket): void {
    this.#server.emit('connection', socket);
  }

  /** GOAWAY to every session: streams in flight finish, no new ones start. */
  drain(): void {
    for (const session of this.#sessions) if (!session.closed) session.close();
  }

  /** Cuts every session that is still open (the drain's grace is over). */
  destroyAll(): void {
    for (const session of this.#sessions) session.destroy();
  }

  #track(session: ServerHttp2Session): void {
    this.#sessions.add(session);
    // The preface (or ALPN) came, but not yet a request: the first head must still arrive in time.
    const firstStream = setTimeout(() => session.destroy(), this.#firstStreamTimeout);
    firstStream.unref();
    session.once('stream', () => clearTimeout(firstStream));
    // An idle connection is closed politely, as HTTP/1.1's keep-alive timeout does.
    if (this.#idleTimeout > 0) session.setTimeout(this.#idleTimeout, () => session.close());
    session.on('error', () => {});
    session.once('close', () => {
      clearTimeout(firstStream);
      this.#sessions.delete(session);
    });
  }
}

/**
 * Where the port's HTTP/2 connections go. The HTTP/2 side is made on the first one, so a gateway
 * that only ever sees HTTP/1.1 does not set up `node:http2` (the CLI's bundle loads it on first use).
 */
export class Http2Door {
  #side: Http2Side | undefined;
  #draining = false;

  constructor(
    private readonly cfg: ServerConfig,
    private readonly on: Http2Handlers,
  ) {}

  /** Takes a connection that speaks HTTP/2 (its first bytes may already be unshifted back). */
  accept(socket: Socket): void {
    // The preface (or ALPN) is a complete opening: the session's own first-stream timer takes over.
    headArrived(socket);
    this.#side ??= new Http2Side(this.cfg, this.on);
    this.#side.accept(socket);
    if (this.#draining) this.#side.drain();
  }

  /** GOAWAY to every session: streams in flight finish, no new ones start. */
  drain(): void {
    this.#draining = true;
    this.#side?.drain();
  }

  /** Cuts every session that is still open (the drain's grace is over). */
  destroyAll(): void {
    this.#side?.destroyAll();
  }
}

/**
 * An HTTP/2 stream as the request handler sees it: `Host` from `:authority` (RFC 9113 §8.3.1), as
 * every check after it reads `Host`.
 */
function onStream(req: Http2ServerRequest, res: Http2ServerResponse, on: Http2Handlers): void {
  const headers = req.headers;
  const authority = headers[':authority'];
  if (headers.host === undefined && authority !== undefined) headers.host = authority;
  on.handler(req as unknown as IncomingMessage, res as unknown as ServerResponse);
}

/**
 * Sends each cleartext connection to HTTP/1.1 or to HTTP/2 by its first bytes: the HTTP/2 preface
 * (prior knowledge, as gRPC clients use it) goes to `h2`, anything else to HTTP/1.1's own listener.
 * Replaces the server's connection listener so both versions share the port, the connection cap and
 * the first-head guard. Bytes read to decide are put back before the chosen side reads.
 */
export function sniffCleartext(server: import('node:http').Server, h2: Http2Door): void {
  const http1 = server.listeners('connection')[0] as ((socket: Socket) => void) | undefined;
  if (http1 === undefined) throw new Error('the HTTP/1.1 server has no connection listener');
  server.removeListener('connection', http1);
  server.prependListener('connection', (socket: Socket) => {
    let seen: Buffer | undefined;
    const onData = (chunk: Buffer) => {
      seen = seen === undefined ? chunk : Buffer.concat([seen, chunk]);
      const n = Math.min(seen.length, HTTP2_PREFACE.length);
      const preface = seen.subarray(0, n).equals(HTTP2_PREFACE.subarray(0, n));
      if (preface && seen.length < HTTP2_PREFACE.length) return; // a prefix of it: wait for more
      socket.off('data', onData);
      socket.pause();
      socket.unshift(seen);
      if (preface) h2.accept(socket);
      else {
        http1.call(server, socket);
        // HTTP/1.1's parser reads the socket's handle directly; what was put back flows as data.
        socket.resume();
      }
    };
    socket.on('data', onData);
  });
}

/**
 * Sends each TLS connection to HTTP/2 or HTTP/1.1 by the protocol ALPN agreed on. Without ALPN (an
 * old client) it is HTTP/1.1.
 */
export function splitByAlpn(server: import('node:https').Server, h2: Http2Door): void {
  const http1 = server.listeners('secureConnection')[0] as ((socket: Socket) => void) | undefined;
  if (http1 === undefined) throw new Error('the HTTPS server has no secureConnection listener');
  server.removeListener('secureConnection', http1);
  server.prependListener('secureConnection', (socket: import('node:tls').TLSSocket) => {
    if (socket.alpnProtocol === 'h2') h2.accept(socket);
    else http1.call(server, socket);
  });
}
