import { type Readable, Transform, type TransformCallback } from 'node:stream';
import type { BodyBudget } from '../proxy/body-buffer.js';

/**
 * Keeps the first bytes of a streamed gRPC body as they pass to the upstream, so a call the upstream
 * never saw (refused connection, REFUSED_STREAM) can be sent again: the bytes that went out, then the
 * rest of the client's stream. It holds at most `max` bytes, taken from the gateway-wide body budget;
 * a longer body (or an empty budget) is no longer replayable and the bytes are given back at once.
 *
 * @example
 * const tap = new ReplayTap(ctx.body, 64 * 1024, budget);
 * ctx.body = tap.body;
 * // after a failure the upstream never saw:
 * const again = tap.replay(); if (again) ctx.body = again;
 * tap.release();
 */
export class ReplayTap {
  #body: Transform;
  #held: Buffer[] | undefined = [];
  #bytes = 0;

  constructor(
    private readonly source: Readable,
    private readonly max: number,
    private readonly budget: BodyBudget,
  ) {
    // One listener for the tap's life: the body in use now fails with the client's stream.
    source.on('error', (err) => this.#body.destroy(err));
    this.#body = this.#pass([]);
  }

  /** The body to send now. */
  get body(): Readable {
    return this.#body;
  }

  /** Whether what passed so far is all held. */
  get replayable(): boolean {
    return this.#held !== undefined;
  }

  /** A new body: the held bytes, then the rest of the client's stream; undefined when not replayable. */
  replay(): Readable | undefined {
    const held = this.#held;
    if (held === undefined) return undefined;
    this.source.unpipe(this.#body);
    this.#body = this.#pass(held);
    return this.#body;
  }

  /** Gives the held bytes back to the budget; the tap passes bytes on without keeping them. */
  release(): void {
    if (this.#held === undefined) return;
    this.budget.give(this.#bytes);
    this.#held = undefined;
    this.#bytes = 0;
  }

  #pass(first: readonly Buffer[]): Transform {
    const tap = this;
    const body = new Transform({
      transform(chunk: Buffer, _enc: BufferEncoding, done: TransformCallback) {
        tap.#keep(chunk);
        done(null, chunk);
      },
    });
    for (const chunk of first) body.push(chunk);
    // The client's stream may have ended while the first attempt failed: then the held bytes are all.
    if (this.source.readableEnded) body.end();
    else this.source.pipe(body);
    return body;
  }

  #keep(chunk: Buffer): void {
    if (this.#held === undefined) return;
    if (this.#bytes + chunk.length > this.max || !this.budget.take(chunk.length)) {
      this.release();
      return;
    }
    this.#held.push(chunk);
    this.#bytes += chunk.length;
  }
}
