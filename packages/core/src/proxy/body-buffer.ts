import { PassThrough, Readable, type TransformCallback } from 'node:stream';
import { GatewayError, isGatewayError } from '../errors.js';
import type { GatewayContext, Middleware } from '../types.js';
import { hasRequestBody, inviteBody, WatchedBody } from './request-body.js';

/**
 * The bytes all buffered request bodies may hold together, gateway-wide: a body that would pass it
 * streams instead, so slow uploads cannot grow the heap past a fixed amount.
 */
export class BodyBudget {
  #left: number;

  constructor(readonly total: number) {
    this.#left = total;
  }

  get free(): number {
    return this.#left;
  }

  take(bytes: number): boolean {
    if (bytes > this.#left) return false;
    this.#left -= bytes;
    return true;
  }

  give(bytes: number): void {
    this.#left = Math.min(this.total, this.#left + bytes);
  }
}

export interface BodyBufferOptions {
  /** Largest body read whole (`server.limits.bufferBody`). */
  max: number;
  budget: BodyBudget;
  /** Bytes per second over `window` ms a sender must keep up while its body is read; false: off. */
  minRate: false | { rate: number; window: number };
}

const slowBody = () =>
  new GatewayError('GW_REQUEST_TIMEOUT', {
    detail: 'the request body arrived too slowly',
    // The rest of the body is never read, so the connection cannot be reused.
    headers: { connection: 'close' },
  });

/**
 * Request buffering, like nginx's `proxy_request_buffering on`: a body up to `max` bytes is read
 * whole before the request goes on to take an upstream connection, so slow senders hold a little
 * memory rather than an upstream connection each. A larger body (declared, or found while reading a
 * chunked one) streams, with what was read already in front; so does a body the budget cannot take.
 * While a body is read, a sender slower than `minRate` gets 408 and its connection closed. The
 * buffered body goes upstream with a `Content-Length`.
 *
 * @example
 * compose([...chain, bufferBody({ max: 64 * 1024, budget, minRate: { rate: 1024, window: 10_000 } })], proxy)
 */
export function bufferBody(opts: BodyBufferOptions): Middleware {
  const { max, budget, minRate } = opts;
  return async function bufferBody(ctx: GatewayContext, next: () => Promise<void>): Promise<void> {
    if (!hasRequestBody(ctx.req)) return next();
    const length = ctx.req.headers['content-length'];
    const declared = length === undefined ? undefined : Number(length);
    // A gRPC body of no declared length is a stream that may wait for the answer (bidi): never hold it.
    if (declared === undefined && ctx.grpc === 'grpc') return next();
    if (declared !== undefined && (declared > max || !budget.take(declared))) {
      watchRate(ctx, minRate);
      return next();
    }
    let held = declared ?? 0;
    try {
      inviteBody(ctx.res);
      const body = await readBody(ctx, declared, (more) => {
        if (!budget.take(more)) return false;
        held += more;
        return true;
      });
      if (body === undefined) return; // the client left: nothing to forward
      if (Buffer.isBuffer(body)) {
        ctx.body = Readable.from([body], { objectMode: false });
        ctx.heldBody = body;
        if (declared === undefined) ctx.upstreamHeaders['content-length'] = String(body.length);
      } else {
        // Streams from here on: what was read waits in the stream, not in the budget.
        budget.give(held);
        held = 0;
        ctx.body = body;
        watchRate(ctx, minRate);
      }
      await next();
    } finally {
      budget.give(held);
    }
  };

  /**
   * The whole body, or a stream that starts with what was read when it outgrew `max` or the budget;
   * undefined when the client left before its body ended.
   */
  function readBody(
    ctx: GatewayContext,
    declared: number | undefined,
    grow: (bytes: number) => boolean,
  ): Promise<Buffer | Readable | undefined> {
    const source = ctx.body;
    const chunks: Buffer[] = [];
    let received = 0;
    return new Promise((resolve, reject) => {
      const watchdog =
        minRate === false
          ? undefined
          : rateWatchdog(
              minRate,
              declared,
              () => received,
              () => false,
              () => fail(slowBody()),
            );
      const cleanup = () => {
        clearInterval(watchdog);
        source.off('data', onData);
        source.off('end', onEnd);
        source.off('error', fail);
        ctx.req.off('close', onClose);
      };
      const fail = (err: unknown) => {
        cleanup();
        if (!isGatewayError(err) && (ctx.req.destroyed || ctx.res.destroyed)) resolve(undefined);
        else reject(err);
      };
      const onData = (chunk: Buffer) => {
        received += chunk.length;
        if (declared === undefined && (received > max || !grow(chunk.length))) {
          cleanup();
          source.pause();
          const rest = new PassThrough();
          for (const c of chunks) rest.write(c);
          rest.write(chunk);
          source.once('error', (err) => rest.destroy(err));
          source.pipe(rest);
          resolve(rest);
          return;
        }
        chunks.push(chunk);
      };
      const onEnd = () => {
        cleanup();
        resolve(chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, received));
      };
      const onClose = () => {
        if (ctx.req.complete) return;
        cleanup();
        resolve(undefined);
      };
      source.on('data', onData);
      source.once('end', onEnd);
      source.once('error', fail);
      ctx.req.once('close', onClose);
    });
  }
}

/**
 * The same minimum rate for a body that streams (larger than `bufferBody`, past the budget, or on a
 * `requestBuffering: false` route): a sender slower than `minRate` gets 408 (or, once the upstream
 * has answered, a cut connection), so a slow upload cannot hold an upstream connection for long.
 */
export function streamedBodyRate(minRate: { rate: number; window: number }): Middleware {
  return async function streamedBodyRate(ctx: GatewayContext, next: () => Promise<void>): Promise<void> {
    if (hasRequestBody(ctx.req)) watchRate(ctx, minRate);
    return next();
  };
}

function watchRate(ctx: GatewayContext, minRate: BodyBufferOptions['minRate']): void {
  // A gRPC stream may rightly sit quiet between messages (a bidi call waits for answers): no minimum
  // rate; what bounds it is the call's deadline and the HTTP/2 stream limits.
  if (minRate === false || (ctx.grpc === 'grpc' && ctx.req.headers['content-length'] === undefined)) return;
  const length = ctx.req.headers['content-length'];
  ctx.body = new RateWatchedBody(ctx.body, minRate, length === undefined ? undefined : Number(length));
}

/**
 * Every `window` ms, calls `tooSlow` when fewer than `rate` bytes per second arrived in it (or fewer
 * than the declared body still owed). A window in which `excused()` says the body waited on its
 * reader does not count against the sender.
 */
function rateWatchdog(
  minRate: { rate: number; window: number },
  declared: number | undefined,
  received: () => number,
  excused: () => boolean,
  tooSlow: () => void,
): NodeJS.Timeout {
  const least = (minRate.rate * minRate.window) / 1000;
  let atWindowStart = 0;
  const timer = setInterval(() => {
    const now = received();
    const got = now - atWindowStart;
    const left = (declared ?? Number.POSITIVE_INFINITY) - atWindowStart;
    atWindowStart = now;
    if (!excused() && got < Math.min(least, left)) tooSlow();
  }, minRate.window);
  timer.unref();
  return timer;
}

/** Passes a streamed body through, failing it with GW_REQUEST_TIMEOUT when it arrives too slowly. */
class RateWatchedBody extends WatchedBody {
  #received = 0;
  readonly #timer: NodeJS.Timeout;

  constructor(source: Readable, minRate: { rate: number; window: number }, declared: number | undefined) {
    super(source);
    this.#timer = rateWatchdog(
      minRate,
      declared,
      () => this.#received,
      // Full buffers: the upstream is not reading, so the sender is not the one holding things up.
      () => this.readableLength >= this.readableHighWaterMark || this.writableNeedDrain,
      () => this.destroy(slowBody()),
    );
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, done: TransformCallback): void {
    this.#received += chunk.length;
    done(null, chunk);
  }

  override _flush(done: TransformCallback): void {
    clearInterval(this.#timer);
    done();
  }

  override _destroy(err: Error | null, done: (error?: Error | null) => void): void {
    clearInterval(this.#timer);
    done(err);
  }
}
