import { type IncomingMessage, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { Duplex } from 'node:stream';
import type { GatewayContext } from '../types.js';

/** A response that writes to nowhere: what the proxy sends there is only seen by a `captureResponse` observer. */
function detachedResponse(req: IncomingMessage): ServerResponse {
  const sink = new Duplex({
    write(_chunk, _encoding, callback) {
      callback();
    },
    read() {},
  });
  const res = new ServerResponse(req);
  res.assignSocket(sink as unknown as Socket);
  // A server's own responses say 'close' once finished; engines wait for it.
  res.on('finish', () => {
    res.detachSocket(sink as unknown as Socket);
    sink.destroy();
    res.emit('close');
  });
  return res;
}

/**
 * Runs `work` (typically the rest of a route's chain) with `ctx.res` swapped for a response that
 * reaches no client, then puts the client's response back: how a middleware that has already
 * answered the client (a stale answer served while it revalidates) fetches a fresh answer through
 * the route's own proxy, pools and retries.
 *
 * @example
 * await withDetachedResponse(ctx, async () => { const release = captureResponse(ctx.res, observer); try { await next(); } finally { release(); } });
 */
export async function withDetachedResponse<T>(ctx: GatewayContext, work: () => Promise<T>): Promise<T> {
  const own = ctx as { res: ServerResponse };
  const client = own.res;
  const detached = detachedResponse(ctx.req);
  own.res = detached;
  try {
    return await work();
  } finally {
    own.res = client;
    if (!detached.writableFinished) detached.destroy();
  }
}
