import type { IncomingMessage } from 'node:http';
import type { TransformCallback } from 'node:stream';
import { GatewayError } from '../errors.js';
import { hasRequestBody, WatchedBody } from '../proxy/request-body.js';
import type { GatewayContext } from '../types.js';

// The rest of the body is never read, so the connection cannot be reused.
const tooLarge = () => new GatewayError('GW_BODY_TOO_LARGE', { headers: { connection: 'close' } });

/** Passes a chunked body through, failing with GW_BODY_TOO_LARGE once more than `max` bytes went by. */
class LimitedBody extends WatchedBody {
  #left: number;

  constructor(source: IncomingMessage, max: number) {
    super(source);
    this.#left = max;
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, done: TransformCallback): void {
    this.#left -= chunk.length;
    if (this.#left < 0) done(tooLarge());
    else done(null, chunk);
  }
}

/**
 * Caps request bodies at `maxBytes`: a larger Content-Length is refused before anything is read
 * (413); a chunked body is counted as it streams and fails once it passes the cap, which aborts
 * the upstream request (413 when nothing was answered yet, else a cut connection).
 *
 * @example
 * const limit = bodyLimit(10 * 1024 ** 2);
 * limit(ctx); // throws GW_BODY_TOO_LARGE, or wraps ctx.body
 */
export function bodyLimit(maxBytes: number): (ctx: GatewayContext) => void {
  return function bodyLimit(ctx: GatewayContext): void {
    const headers = ctx.req.headers;
    const length = headers['content-length'];
    // Node's parser delivers exactly Content-Length bytes, so a declared length needs no counting.
    if (length !== undefined) {
      if (Number(length) > maxBytes) throw tooLarge();
      return;
    }
    // Chunked, or an HTTP/2 stream without a length: counted as it arrives.
    if (hasRequestBody(ctx.req)) ctx.body = new LimitedBody(ctx.req, maxBytes);
  };
}
