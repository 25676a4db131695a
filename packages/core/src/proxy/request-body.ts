import type { IncomingMessage, ServerResponse } from 'node:http';
import { type Readable, Transform } from 'node:stream';

/**
 * Whether the client sent (or is sending) a body: a non-zero Content-Length or any Transfer-Encoding;
 * over HTTP/2, a stream its HEADERS frame did not end (the length header is optional there).
 */
export function hasRequestBody(req: IncomingMessage): boolean {
  if (req.httpVersionMajor === 2) {
    // HTTP/2 frames bodies itself (gRPC sends no content-length): END_STREAM on HEADERS means none.
    const stream = (req as unknown as { stream: { endAfterHeaders: boolean } }).stream;
    return !stream.endAfterHeaders && req.headers['content-length'] !== '0';
  }
  const length = req.headers['content-length'];
  if (length !== undefined) return length !== '0';
  return req.headers['transfer-encoding'] !== undefined;
}

type AwaitsContinue = ServerResponse & { _expect_continue?: boolean; _sent100?: boolean };

/**
 * Sends `100 Continue` to a client that asked for it and still waits: the gateway's server answers
 * `Expect` itself (`checkContinue`), so a body is invited only once routing, limits, auth and the
 * rate limit let the request through. A no-op when Node already sent it (a host app's own server).
 */
export function inviteBody(res: ServerResponse): void {
  const r = res as AwaitsContinue;
  if (r._expect_continue === true && r._sent100 !== true && !res.headersSent) res.writeContinue();
}

function noop(): void {}

/**
 * A body passed through a check on its way upstream (the size limit, the minimum rate). The
 * client's failures reach the consumer, a client that leaves mid-body fails it, and a consumer that
 * pipes without an error listener cannot turn the check's error into a process crash.
 */
export abstract class WatchedBody extends Transform {
  constructor(source: Readable) {
    super();
    source.once('error', (err) => this.destroy(err));
    this.on('error', noop);
    source.once('close', () => {
      // A request's body is whole once Node parsed all of it, read by us or not.
      const whole = 'complete' in source ? (source as IncomingMessage).complete : source.readableEnded;
      if (!whole && !this.destroyed) {
        this.destroy(new Error('the client closed the request before its body ended'));
      }
    });
    source.pipe(this);
  }
}
