import type { OutgoingHttpHeaders, ServerResponse } from 'node:http';
import type { ServerHttp2Stream } from 'node:http2';

/**
 * Ends an HTTP/2 response with its HEADERS frame alone, END_STREAM set there (gRPC's
 * "trailers-only" answer): `writeHead()` + `end()` on Node's compatibility response would add an
 * empty DATA frame, after which gRPC clients see no status. The response object is ended too (no
 * frame is sent for that), so it counts as answered with `status`, not as a cancelled 499.
 */
export function endWithHeaders(
  res: ServerResponse & { stream: ServerHttp2Stream },
  status: number,
  headers: OutgoingHttpHeaders,
): void {
  res.statusCode = status;
  res.stream.respond({ ...headers, ':status': status }, { endStream: true });
  res.end();
}
