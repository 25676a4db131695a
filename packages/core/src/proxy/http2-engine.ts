import type { ForwardResult, GatewayContext, OutgoingRequest, ProxyEngine, Target } from '../types.js';
import { ClientAbortedError } from './engine-contract.js';
import { Exchange } from './http2-exchange.js';
import { SessionPool } from './http2-session-pool.js';

export interface Http2EngineOptions {
  /** Most sessions kept to one target; a full session (peer's maxConcurrentStreams) opens another. */
  sessionsPerTarget?: number;
  /** A session without streams for this long is closed (ms). */
  sessionIdleTimeout?: number;
  /** Largest response header list accepted from an upstream (bytes). */
  maxHeaderListSize?: number;
}

/**
 * Forwards to HTTP/2 upstreams (`h2c://` targets, or `https://` with `http2: true`) with
 * `node:http2`: a multiplexed session per target and transport, a further session when the peer's
 * concurrent-stream limit is reached (up to `sessionsPerTarget`; past that, streams wait in the
 * least busy session's queue until the peer has room: more sessions would only move the queue upstream), trailers relayed both ways, bodies streamed with backpressure.
 */
export class Http2Engine implements ProxyEngine {
  readonly name = 'http2';
  readonly #sessions: SessionPool;

  constructor(opts: Http2EngineOptions = {}) {
    this.#sessions = new SessionPool(opts.sessionsPerTarget ?? 4, {
      idleTimeout: opts.sessionIdleTimeout ?? 60_000,
      maxHeaderListSize: opts.maxHeaderListSize ?? 64 * 1024,
    });
  }

  async forward(ctx: GatewayContext, target: Target, outgoing: OutgoingRequest): Promise<ForwardResult> {
    // A session that went away (GOAWAY, closed) between the pick and the stream sent nothing:
    // one more pick opens a new one.
    for (let attempt = 0; ; attempt++) {
      const session = this.#sessions.pick(target, outgoing.transport, outgoing.fresh === true);
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
    return this.#sessions.size;
  }

  /** Closes the sessions of targets that are gone (after discovery changes). */
  retain(liveTargetIds: ReadonlySet<string>): void {
    this.#sessions.retain(liveTargetIds);
  }

  close(): Promise<void> {
    return this.#sessions.close();
  }
}

/** The session refused the stream before anything was sent. */
function notSent(err: unknown): boolean {
  const code = (err as { code?: unknown } | undefined)?.code;
  return code === 'ERR_HTTP2_GOAWAY_SESSION' || code === 'ERR_HTTP2_INVALID_SESSION';
}
