import type { ServerHttp2Stream } from 'node:http2';
import {
  type ClientHttp2Session,
  type ClientHttp2Stream,
  connect,
  constants,
  type IncomingHttpHeaders,
  type IncomingHttpStatusHeader,
  type OutgoingHttpHeaders,
  type SecureClientSessionOptions,
} from 'node:http2';
import { connect as netConnect } from 'node:net';
import type { Duplex } from 'node:stream';
import { connect as tlsConnect } from 'node:tls';
import { endWithHeaders } from '../http/end-with-headers.js';
import type {
  ForwardResult,
  GatewayContext,
  OutgoingRequest,
  ProxyEngine,
  Target,
  TransportOptions,
} from '../types.js';
import { dialAddress } from '../upstream/protocol.js';
import { armed, ClientAbortedError } from './engine-contract.js';
import { clientResponseHeaders, HTTP2_FORBIDDEN, trailerFields } from './headers.js';
import { hasRequestBody } from './request-body.js';
import {
  UpstreamConnectTimeoutError,
  UpstreamDeadlineError,
  UpstreamIdleTimeoutError,
  UpstreamRefusedStreamError,
  UpstreamStreamResetError,
  UpstreamTimeoutError,
} from './upstream-error.js';

export interface Http2EngineOptions {
  /** Most sessions kept to one target; a full session (peer's maxConcurrentStreams) opens another. */
  sessionsPerTarget?: number;
  /** A session without streams for this long is closed (ms). */
  sessionIdleTimeout?: number;
  /** Largest response header list accepted from an upstream (bytes). */
  maxHeaderListSize?: number;
}

/** Fields not sent on an HTTP/2 stream: the connection-specific ones, Host (sent as :authority), HTTP2-Settings. */
const CONNECTION_SPECIFIC = new Set([...HTTP2_FORBIDDEN, 'host', 'http2-settings']);

// RFC 9113 §7 error codes and the status pseudo-header, written out rather than read from
// `constants` when this module loads: node:http2 then loads only when an HTTP/2 service is used.
const NGHTTP2_CANCEL = 0x8;
const NGHTTP2_REFUSED_STREAM = 0x7;
const HTTP2_HEADER_STATUS = ':status';

/** Peers advertise no limit until their SETTINGS arrive; RFC 9113 suggests at least 100. */
const ASSUMED_STREAMS = 100;

/** One connection to a target and the streams open on it. */
class Session {
  active = 0;
  /** No new streams: closing, closed, or told to go away. */
  done = false;
  readonly ready: Promise<void>;

  constructor(
    readonly h2: ClientHttp2Session,
    connectTimeout: number,
    idleTimeout: number,
    onDone: (s: Session) => void,
  ) {
    const finish = () => {
      if (this.done) return;
      this.done = true;
      onDone(this);
    };
    this.ready = new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        h2.destroy(new UpstreamConnectTimeoutError(connectTimeout));
      }, connectTimeout);
      h2.once('connect', () => {
        clearTimeout(timer);
        resolve();
      });
      h2.once('close', () => {
        clearTimeout(timer);
        reject(new Error('session closed before it connected'));
      });
      h2.once('error', (err) => {
        clearTimeout(timer);
        reject(err);
      });
    });
    // Each request waits on `ready` itself; an unobserved rejection is not a crash.
    this.ready.catch(() => {});
    h2.on('error', finish);
    h2.once('close', finish);
    h2.once('goaway', finish);
    h2.setTimeout(idleTimeout, () => {
      if (this.active === 0) {
        finish();
        h2.close();
      }
    });
  }

  get capacity(): number {
    return this.h2.remoteSettings?.maxConcurrentStreams ?? ASSUMED_STREAMS;
  }

  /** Closes gracefully (open streams may finish); a session still busy after `graceMs` is cut. */
  close(graceMs = 5_000): Promise<void> {
    this.done = true;
    if (this.h2.closed || this.h2.destroyed) return Promise.resolve();
    return new Promise<void>((resolve) => {
      const cut = setTimeout(() => this.h2.destroy(), graceMs);
      cut.unref();
      this.h2.close(() => {
        clearTimeout(cut);
        resolve();
      });
    });
  }
}

/**
 * Forwards to HTTP/2 upstreams (`h2c://` targets, or `https://` with `http2: true`) with
 * `node:http2`: a multiplexed session per target and transport, a further session when the peer's
 * concurrent-stream limit is reached (up to `sessionsPerTarget`; past that, streams wait in the
 * least busy session's queue until the peer has room: more sessions would only move the queue upstream), trailers relayed both ways, bodies streamed with backpressure.
 */
export class Http2Engine implements ProxyEngine {
  readonly name = 'http2';
  readonly #groups = new Map<string, Session[]>();
  readonly #maxSessions: number;
  readonly #sessionIdle: number;
  readonly #maxHeaderListSize: number;

  constructor(opts: Http2EngineOptions = {}) {
    this.#maxSessions = opts.sessionsPerTarget ?? 4;
    this.#sessionIdle = opts.sessionIdleTimeout ?? 60_000;
    this.#maxHeaderListSize = opts.maxHeaderListSize ?? 64 * 1024;
  }

  async forward(ctx: GatewayContext, target: Target, outgoing: OutgoingRequest): Promise<ForwardResult> {
    // A session that went away (GOAWAY, closed) between the pick and the stream sent nothing:
    // one more pick opens a new one.
    for (let attempt = 0; ; attempt++) {
      const session = this.#session(target, outgoing.transport, outgoing.fresh === true);
      session.active++;
      try {
        await session.ready;
        if (ctx.res.destroyed) throw new ClientAbortedError();
        if (session.done && attempt === 0) continue;
        return await new Promise<ForwardResult>((resolve, reject) => {
          new Exchange(ctx, session.h2, target, outgoing, resolve, reject);
        });
      } catch (err) {
        if (attempt === 0 && notSent(err)) continue;
        throw err;
      } finally {
        session.active--;
      }
    }
  }

  /** The number of open sessions (for tests and the dashboard). */
  get sessionCount(): number {
    let n = 0;
    for (const g of this.#groups.values()) n += g.length;
    return n;
  }

  /** Closes the sessions of targets that are gone (after discovery changes). */
  retain(liveTargetIds: ReadonlySet<string>): void {
    for (const [key, group] of this.#groups) {
      if (liveTargetIds.has(key.slice(key.indexOf('|') + 1))) continue;
      this.#groups.delete(key);
      for (const s of group) void s.close();
    }
  }

  async close(): Promise<void> {
    const all = [...this.#groups.values()].flat();
    this.#groups.clear();
    await Promise.all(all.map((s) => s.close()));
  }

  /** A session with room for one more stream; a new one while under the cap; else the least busy. */
  #session(target: Target, transport: TransportOptions, fresh: boolean): Session {
    const key = `${transport.key}|${target.id}`;
    let group = this.#groups.get(key);
    if (group === undefined) {
      group = [];
      this.#groups.set(key, group);
    }
    let least: Session | undefined;
    // `fresh`: a new session (connection) for this stream, which then serves the pool like any other.
    for (const s of fresh ? [] : group) {
      if (s.done) continue;
      if (s.active < s.capacity) return s;
      if (least === undefined || s.active < least.active) least = s;
    }
    if (!fresh && least !== undefined && group.length >= this.#maxSessions) return least;
    const session = this.#open(target, transport, (gone) => {
      const list = this.#groups.get(key);
      if (list === undefined) return;
      const i = list.indexOf(gone);
      if (i >= 0) list.splice(i, 1);
      if (list.length === 0 && this.#groups.get(key) === list) this.#groups.delete(key);
    });
    group.push(session);
    return session;
  }

  #open(target: Target, transport: TransportOptions, onDone: (s: Session) => void): Session {
    const tls = transport.tls;
    const options: SecureClientSessionOptions = {
      settings: { enablePush: false, maxHeaderListSize: this.#maxHeaderListSize },
      ...(target.url.protocol === 'https:' && {
        ...tls,
        ALPNProtocols: ['h2'],
        ...(tls?.servername === undefined && isHostname(target.url.hostname)
          ? { servername: target.url.hostname }
          : {}),
      }),
    };
    const h2 = connect(target.url.origin, { ...options, createConnection: () => dial(target.url, options) });
    return new Session(h2, transport.connectTimeout, this.#sessionIdle, onDone);
  }
}

/**
 * The session's socket, with Nagle's algorithm off: a unary call is a few small frames each way
 * (HEADERS, DATA, trailers), and Nagle would hold them for the peer's delayed ACK, tens of ms a
 * call, while both ends sit idle (node:http2 leaves the default on and forbids setting it later).
 */
function dial(url: URL, options: SecureClientSessionOptions): Duplex {
  const address = dialAddress(url);
  if (url.protocol !== 'https:') return netConnect({ ...address, noDelay: true });
  const socket = tlsConnect({ ...options, ...address });
  socket.setNoDelay(true);
  return socket;
}

/** The session refused the stream before anything was sent. */
function notSent(err: unknown): boolean {
  const code = (err as { code?: unknown } | undefined)?.code;
  return code === 'ERR_HTTP2_GOAWAY_SESSION' || code === 'ERR_HTTP2_INVALID_SESSION';
}

function isHostname(host: string): boolean {
  return !host.startsWith('[') && !/^\d+\.\d+\.\d+\.\d+$/.test(host);
}

/** Request headers for an HTTP/2 stream: pseudo-headers first, connection-specific fields dropped. */
function requestHeaders(method: string, path: string, headers: OutgoingHttpHeaders, target: Target) {
  const out: OutgoingHttpHeaders = {
    ':method': method,
    ':path': path,
    ':authority': String(headers.host ?? target.url.host),
  };
  for (const name in headers) {
    if (name.charCodeAt(0) === 58 /* ':' */ || CONNECTION_SPECIFIC.has(name)) continue;
    const value = headers[name];
    if (value === undefined) continue;
    // RFC 9113 §8.2.2: TE may appear only as "trailers".
    if (name === 'te') {
      if (String(value).trim().toLowerCase() === 'trailers') out.te = 'trailers';
      continue;
    }
    out[name] = value;
  }
  return out;
}

/** The upstream's headers without pseudo-headers, as a client's HTTP/1.1 or HTTP/2 answer needs them. */
function withoutPseudo(headers: IncomingHttpHeaders): IncomingHttpHeaders {
  const out: IncomingHttpHeaders = {};
  for (const name in headers) if (name.charCodeAt(0) !== 58) out[name] = headers[name];
  return out;
}

type CompatResponse = GatewayContext['res'] & { stream?: ServerHttp2Stream };

/** One request/response exchange on an upstream stream. */
class Exchange {
  readonly #stream: ClientHttp2Stream;
  #status = 0;
  #bytes = 0;
  #settled = false;
  #headersTimer: NodeJS.Timeout | undefined;
  #deadlineTimer: NodeJS.Timeout | undefined;

  constructor(
    private readonly ctx: GatewayContext,
    session: ClientHttp2Session,
    target: Target,
    outgoing: OutgoingRequest,
    private readonly resolve: (r: ForwardResult) => void,
    private readonly reject: (err: unknown) => void,
  ) {
    const req = ctx.req;
    const body = hasRequestBody(req);
    const headers = requestHeaders(req.method ?? 'GET', outgoing.path, outgoing.headers, target);
    let stream: ClientHttp2Stream;
    try {
      stream = session.request(headers, { endStream: !body, waitForTrailers: body });
    } catch (err) {
      // A session that went away between the pick and now (GOAWAY): the request was not sent.
      this.#stream = undefined as unknown as ClientHttp2Stream;
      this.#settled = true;
      reject(err);
      return;
    }
    this.#stream = stream;
    ctx.res.on('close', this.#onClientClose);
    if (armed(outgoing.timeout)) {
      this.#headersTimer = setTimeout(this.#onHeadersTimeout, outgoing.timeout, outgoing.timeout);
    }
    if (armed(outgoing.deadline)) {
      this.#deadlineTimer = setTimeout(this.#onDeadline, outgoing.deadline, outgoing.deadline);
    }
    if (armed(outgoing.transport.idleTimeout)) {
      stream.setTimeout(outgoing.transport.idleTimeout, () =>
        this.#fail(new UpstreamIdleTimeoutError(outgoing.transport.idleTimeout)),
      );
    }
    stream.on('response', this.#onResponse);
    stream.on('trailers', this.#onTrailers);
    stream.on('error', this.#onStreamError);
    stream.on('close', this.#onStreamClose);
    if (body) {
      stream.on('wantTrailers', this.#onWantTrailers);
      const source = ctx.body;
      source.on('error', this.#onBodyError);
      source.pipe(stream);
    }
  }

  #onWantTrailers = () => {
    // With none, node ends the stream with an empty DATA frame carrying END_STREAM instead.
    this.#stream.sendTrailers(trailerFields(this.ctx.req.trailers) ?? {});
  };

  #onBodyError = (err: Error) => {
    this.#fail(err);
  };

  #onResponse = (headers: IncomingHttpHeaders & IncomingHttpStatusHeader, flags: number) => {
    clearTimeout(this.#headersTimer);
    const res = this.ctx.res as CompatResponse;
    if (res.destroyed) {
      this.#fail(new ClientAbortedError());
      return;
    }
    const status = Number(headers[HTTP2_HEADER_STATUS]);
    this.#status = status;
    const out = clientResponseHeaders(this.ctx, withoutPseudo(headers));
    const endStream = (flags & constants.NGHTTP2_FLAG_END_STREAM) !== 0;
    if (endStream && res.stream !== undefined && this.ctx.req.httpVersionMajor === 2) {
      // Trailers-only (gRPC): relayed as it came, one HEADERS frame with END_STREAM.
      endWithHeaders(res as CompatResponse & { stream: ServerHttp2Stream }, status, out);
      this.#settle(undefined);
      return;
    }
    res.writeHead(status, out);
    if (endStream) {
      res.end();
      this.#settle(undefined);
      return;
    }
    this.#stream.on('data', this.#onData);
    this.#stream.on('end', this.#onEnd);
  };

  #onData = (chunk: Buffer) => {
    this.#bytes += chunk.length;
    if (!this.ctx.res.write(chunk)) {
      this.#stream.pause();
      this.ctx.res.once('drain', this.#resume);
    }
  };

  #resume = () => {
    this.#stream.resume();
  };

  #onTrailers = (trailers: IncomingHttpHeaders) => {
    const relayed = trailerFields(trailers);
    if (relayed !== undefined) this.ctx.res.addTrailers(relayed as Record<string, string>);
  };

  #onEnd = () => {
    this.ctx.res.end();
    this.#settle(undefined);
  };

  #onStreamError = (err: Error) => {
    const rst = this.#stream.rstCode;
    if (rst === NGHTTP2_REFUSED_STREAM) this.#fail(new UpstreamRefusedStreamError());
    else if ((err as { code?: string }).code === 'ERR_HTTP2_STREAM_ERROR' && rst !== undefined)
      this.#fail(new UpstreamStreamResetError(rst));
    else this.#fail(err);
  };

  #onStreamClose = () => {
    if (this.#settled) return;
    const stream = this.#stream;
    if (stream.rstCode === NGHTTP2_REFUSED_STREAM) this.#fail(new UpstreamRefusedStreamError());
    else if (stream.session === undefined || stream.session.destroyed || stream.session.closed) {
      // The connection went with the stream: as a lost HTTP/1.1 connection, nothing came back.
      this.#fail(Object.assign(new Error('upstream connection lost'), { code: 'ECONNRESET' }));
    } else {
      // Reset by the peer (any other code): it may have acted on the request, so no retry.
      this.#fail(new UpstreamStreamResetError(stream.rstCode));
    }
  };

  #onHeadersTimeout = (ms: number) => {
    this.#fail(new UpstreamTimeoutError(ms));
  };

  #onDeadline = (ms: number) => {
    this.#fail(new UpstreamDeadlineError(ms));
  };

  #onClientClose = () => {
    if (!this.ctx.res.writableFinished && !this.#settled) this.#fail(new ClientAbortedError());
  };

  /** Cancels the upstream stream (RST_STREAM CANCEL) and rejects. */
  #fail(err: Error) {
    if (this.#settled) return;
    if (!this.#stream.closed) this.#stream.close(NGHTTP2_CANCEL);
    this.#settle(err);
  }

  #settle(err: Error | undefined) {
    if (this.#settled) return;
    this.#settled = true;
    clearTimeout(this.#headersTimer);
    clearTimeout(this.#deadlineTimer);
    this.#stream.setTimeout(0);
    this.ctx.res.off('close', this.#onClientClose);
    this.ctx.res.off('drain', this.#resume);
    this.ctx.body.off('error', this.#onBodyError);
    if (err === undefined) this.resolve({ status: this.#status, bytes: this.#bytes });
    else {
      this.ctx.body.unpipe(this.#stream);
      this.reject(err);
    }
  }
}
