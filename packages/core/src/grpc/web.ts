import type { IncomingHttpHeaders, OutgoingHttpHeaders, ServerResponse } from 'node:http';
import type { ServerHttp2Stream } from 'node:http2';
import { type Readable, Writable } from 'node:stream';
import type { ServerConfig } from '../config/schema.js';
import { hasRequestBody } from '../proxy/request-body.js';
import type { GatewayContext, Middleware } from '../types.js';
import { grpcContentType } from './answer.js';
import { frame } from './frame.js';
import { grpcFormat } from './protocol.js';
import { parseGrpcStatus } from './status.js';
import { Base64Decoder, Base64Encoder } from './web-text.js';

/** The gRPC-Web trailer frame's flag (PROTOCOL-WEB.md): the MSB of the flags byte. */
const TRAILER_FLAG = 0x80;

/**
 * The gRPC-Web bridge of a `grpcWeb: true` route (PROTOCOL-WEB.md): a browser's
 * `application/grpc-web[-text]` call goes upstream as `application/grpc` (a `-text` body base64
 * decoded as it streams), and the answer comes back as gRPC-Web: the upstream's messages as they
 * are (base64 for `-text`), its trailers as the final 0x80 frame. Other requests pass untouched.
 *
 * @example compose([...chain, grpcWebBridge(), ...edge], proxy)
 */
export function grpcWebBridge(): Middleware {
  return async function grpcWeb(ctx, next) {
    const kind = ctx.grpc;
    if (kind !== 'grpc-web' && kind !== 'grpc-web-text') return next();
    const req = ctx.req;
    const headers = req.headers;
    // The answer's content type follows the call's, decided before the request's is rewritten.
    const answerType = grpcContentType(ctx);
    headers['content-type'] = `application/grpc${grpcFormat(headers['content-type'])}`;
    // Said by the browser library to the bridge; the upstream speaks plain gRPC.
    delete headers['x-grpc-web'];
    if (kind === 'grpc-web-text' && hasRequestBody(req)) {
      ctx.body = decoded(ctx.body);
      // The decoded length is not known before the end (padding may come mid-body).
      delete headers['content-length'];
      if (req.httpVersionMajor < 2) headers['transfer-encoding'] = 'chunked';
    }
    (ctx as { res: ServerResponse }).res = new GrpcWebResponse(
      ctx,
      ctx.res,
      answerType,
    ) as unknown as ServerResponse;
    return next();
  };
}

function decoded(body: Readable): Readable {
  const decoder = new Base64Decoder();
  body.once('error', (err) => decoder.destroy(err));
  return body.pipe(decoder);
}

/**
 * The client's response as the proxy sees it on a gRPC-Web call: what an engine writes as gRPC
 * (headers, messages, trailers) goes to the browser as gRPC-Web. An answer that is not gRPC (an
 * upstream's plain HTTP error, the gateway's own gRPC-Web answer) passes as it is.
 */
class GrpcWebResponse extends Writable {
  readonly grpcWebBridge = true;
  statusCode = 200;
  statusMessage = '';
  #headersSent = false;
  #pending: OutgoingHttpHeaders = {};
  #trailers: OutgoingHttpHeaders | undefined;
  /** The upstream answered gRPC: frames are relayed and trailers become the trailer frame. */
  #grpc = false;
  readonly #text: Base64Encoder | undefined;

  constructor(
    private readonly ctx: GatewayContext,
    private readonly real: ServerResponse,
    private readonly contentType: string,
  ) {
    super();
    this.#text = contentType.startsWith('application/grpc-web-text') ? new Base64Encoder() : undefined;
    // The lifecycle reads it once the client's response closed, which may be before this one finished.
    Object.defineProperty(this, 'writableFinished', { get: () => real.writableFinished });
    // The client left: so did this response (engines listen for it to cancel the upstream call).
    real.on('close', () => {
      if (!this.destroyed && !real.writableFinished) this.destroy();
    });
  }

  get headersSent(): boolean {
    return this.#headersSent;
  }

  /** For engines that answer an HTTP/2 client's trailers-only call on its stream. */
  get stream(): Pick<ServerHttp2Stream, 'respond' | 'destroyed' | 'closed'> | undefined {
    const stream = (this.real as { stream?: ServerHttp2Stream }).stream;
    if (stream === undefined) return undefined;
    const self = this;
    return {
      respond(headers: OutgoingHttpHeaders = {}) {
        const { ':status': status, ...rest } = headers;
        self.writeHead(Number(status ?? 200), rest);
        self.end();
      },
      get destroyed() {
        return stream.destroyed;
      },
      get closed() {
        return stream.closed;
      },
    } as Pick<ServerHttp2Stream, 'respond' | 'destroyed' | 'closed'>;
  }

  setHeader(name: string, value: number | string | string[]): this {
    this.#pending[name.toLowerCase()] = value;
    return this;
  }

  getHeader(name: string): number | string | string[] | undefined {
    return this.#pending[name.toLowerCase()];
  }

  hasHeader(name: string): boolean {
    return this.#pending[name.toLowerCase()] !== undefined;
  }

  removeHeader(name: string): void {
    delete this.#pending[name.toLowerCase()];
  }

  writeHead(
    status: number,
    message?: string | OutgoingHttpHeaders | IncomingHttpHeaders,
    headers?: OutgoingHttpHeaders | IncomingHttpHeaders,
  ): this {
    if (this.#headersSent) return this;
    if (typeof message === 'object') headers = message;
    const out: OutgoingHttpHeaders = { ...this.#pending };
    for (const name in headers) if (name[0] !== ':') out[name] = headers[name];
    const type = String(out['content-type'] ?? '');
    if (status === 200 && type.startsWith('application/grpc') && !type.startsWith('application/grpc-web')) {
      this.#grpc = true;
      out['content-type'] = this.contentType;
      // Framing (and base64) changes the length.
      delete out['content-length'];
    }
    this.#note(out['grpc-status']);
    this.statusCode = status;
    this.#headersSent = true;
    this.real.writeHead(status, out);
    return this;
  }

  addTrailers(trailers: OutgoingHttpHeaders | IncomingHttpHeaders): void {
    this.#trailers = { ...this.#trailers, ...(trailers as OutgoingHttpHeaders) };
    this.#note(this.#trailers['grpc-status']);
  }

  override _write(chunk: Buffer, _enc: BufferEncoding, done: (err?: Error | null) => void): void {
    if (!this.#headersSent) this.writeHead(this.statusCode);
    const out = this.#grpc && this.#text ? this.#text.write(chunk) : chunk;
    if (out.length === 0 || this.real.write(out)) done();
    else this.real.once('drain', () => done());
  }

  override _final(done: (err?: Error | null) => void): void {
    if (!this.#headersSent) this.writeHead(this.statusCode);
    let tail: Buffer | string | undefined;
    if (this.#grpc) {
      const trailers = this.#trailers === undefined ? undefined : trailerFrame(this.#trailers);
      tail = this.#text ? this.#text.end(trailers) : trailers;
    }
    this.real.end(tail, () => done());
  }

  override _destroy(err: Error | null, done: (err?: Error | null) => void): void {
    if (!this.real.writableFinished) this.real.destroy();
    done(err);
  }

  #note(status: unknown): void {
    const code = parseGrpcStatus(status);
    if (code !== undefined) this.ctx.grpcStatus = code;
  }
}

/** The trailers as the body's last frame: `name: value` lines, CRLF-ended, names lowercase. */
export function trailerFrame(trailers: OutgoingHttpHeaders): Buffer {
  let block = '';
  for (const name in trailers) {
    const value = trailers[name];
    if (value === undefined) continue;
    block += `${name.toLowerCase()}: ${Array.isArray(value) ? value.join(', ') : String(value)}\r\n`;
  }
  return frame(Buffer.from(block, 'latin1'), TRAILER_FLAG);
}

const WEB_REQUEST_HEADERS = ['content-type', 'x-grpc-web', 'x-user-agent', 'grpc-timeout'];
const WEB_EXPOSED_HEADERS = ['grpc-status', 'grpc-message'];

/**
 * `server.cors` with what a gRPC-Web call needs added once, when any route bridges gRPC-Web: the
 * request headers its libraries send, and the status headers of a trailers-only answer exposed.
 */
export function grpcWebCors(cors: ServerConfig['cors']): ServerConfig['cors'] {
  if (!cors) return cors;
  const union = (a: readonly string[], b: readonly string[]) => [
    ...a,
    ...b.filter((h) => !a.some((x) => x.toLowerCase() === h)),
  ];
  return {
    ...cors,
    headers: union(cors.headers, WEB_REQUEST_HEADERS),
    exposeHeaders: union(cors.exposeHeaders, WEB_EXPOSED_HEADERS),
  };
}
