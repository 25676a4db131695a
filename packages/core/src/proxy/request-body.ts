import type { IncomingMessage } from 'node:http';

/** Whether the client sent (or is sending) a body: a non-zero Content-Length or any Transfer-Encoding. */
export function hasRequestBody(req: IncomingMessage): boolean {
  const length = req.headers['content-length'];
  if (length !== undefined) return length !== '0';
  return req.headers['transfer-encoding'] !== undefined;
}
