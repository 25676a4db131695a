import {
  type ClientHttp2Session,
  type ClientHttp2Stream,
  constants,
  type IncomingHttpHeaders,
  type IncomingHttpStatusHeader,
  type OutgoingHttpHeaders,
  type ServerHttp2Stream,
} from 'node:http2';
import { endWithHeaders } from '../http/end-with-headers.js';
import type { ForwardResult, GatewayContext, OutgoingRequest, Target } from '../types.js';
import { armed, ClientAbortedError } from './engine-contract.js';
import { clientResponseHeaders, HTTP2_FORBIDDEN, trailerFields } from './headers.js';
import { hasRequestBody } from './request-body.js';
import {
  UpstreamDeadlineError,
  UpstreamIdleTimeoutError,
  UpstreamRefusedStreamError,
  UpstreamStreamResetError,
  UpstreamTimeoutError,
} from './upstream-error.js';

/** Fields not sent on an HTTP/2 stream: the connection-specific ones, Host (sent as :authority), HTTP2-Settings. */
const CONNECTION_SPECIFIC = new Set([...HTTP2_FORBIDDEN, 'host', 'http2-settings']);

// RFC 9113 §7 error codes and the status pseudo-header, written out rather than read from
// `constants` when this module loads: node:http2 then loads only when an HTTP/2 service is used.
const NGHTTP2_CANCEL = 0x8;
const NGHTTP2_REFUSED_STREAM = 0x7;
const HTTP2_HEADER_STATUS = ':status';

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
export class Exchange {
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
