import type { IncomingMessage, ServerResponse } from 'node:http';

const kFaulty = Symbol('lucid.faultyFraming');
type Marked = IncomingMessage['socket'] & { [kFaulty]?: boolean };

/**
 * Framing the gateway had to repair to forward a message (it re-frames every body upstream):
 * - `Transfer-Encoding` in an HTTP/1.0 request (RFC 9112 §6.1: 1.0 has no chunked coding, so the
 *   sender and any proxy before us may disagree on where the message ends);
 * - `Transfer-Encoding` other than exactly `chunked` (`gzip, chunked`, `chunked, chunked`): codings
 *   the gateway drops when it forwards;
 * - `Transfer-Encoding` together with `Content-Length` (RFC 9112 §6.3: the length is ignored).
 */
function repairedFraming(req: IncomingMessage): boolean {
  const te = req.headers['transfer-encoding'];
  if (te === undefined) return false;
  return (
    req.httpVersion === '1.0' ||
    te.trim().toLowerCase() !== 'chunked' ||
    req.headers['content-length'] !== undefined
  );
}

/**
 * Closes the connection after a message whose framing had to be repaired, whatever `Connection`
 * says: bytes after it may be a request another parser saw as body (smuggling). Node parses a
 * pipelined request in the same read and hands it over before the first is answered, so a request
 * that follows a faulty one on the same connection is never served: returns `true` for it, and the
 * caller drops it (the connection ends after the first answer).
 *
 * @example
 * if (closeAfterRepairedFraming(req, res)) return; // first thing in the request handler
 */
export function closeAfterRepairedFraming(req: IncomingMessage, res: ServerResponse): boolean {
  const socket = req.socket as Marked;
  if (socket[kFaulty] === true) {
    // Never answered: the connection closes after the faulty message's answer.
    req.resume();
    return true;
  }
  if (!repairedFraming(req)) return false;
  socket[kFaulty] = true;
  res.shouldKeepAlive = false;
  return false;
}
