import type { IncomingMessage, ServerResponse } from 'node:http';

/** Whether the client sent (or is sending) a body: a non-zero Content-Length or any Transfer-Encoding. */
export function hasRequestBody(req: IncomingMessage): boolean {
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
