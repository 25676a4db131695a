import { randomFillSync, randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';

// Compiled once; the hot path only runs them.
const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;
const TRACEPARENT = /^00-(?!0{32})[0-9a-f]{32}-(?!0{16})[0-9a-f]{16}-[0-9a-f]{2}$/;

/**
 * The request's id: a well-formed incoming `x-request-id` is kept, anything else is replaced.
 * Node joins repeated headers with ", ", which the pattern refuses, so only a single header is kept.
 *
 * @example
 * const id = requestIdOf(req); // 'abc-123' when the client sent `x-request-id: abc-123`
 */
export function requestIdOf(req: IncomingMessage): string {
  const incoming = req.headers['x-request-id'];
  return typeof incoming === 'string' && REQUEST_ID.test(incoming) ? incoming : randomUUID();
}

/**
 * The W3C `traceparent` to forward: a valid version-00 incoming one is kept, else a new sampled one.
 *
 * @example
 * traceparentOf(req); // '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01'
 */
export function traceparentOf(req: IncomingMessage): string {
  const incoming = req.headers.traceparent;
  if (typeof incoming === 'string' && TRACEPARENT.test(incoming)) return incoming;
  const hex = randomHex24();
  return `00-${hex.slice(0, 32)}-${hex.slice(32)}-01`;
}

// Random bytes drawn in blocks: one system call per 170 trace ids instead of one per request.
const pool = Buffer.allocUnsafe(4080);
let offset = pool.length;

function randomHex24(): string {
  if (offset === pool.length) {
    randomFillSync(pool);
    offset = 0;
  }
  const hex = pool.toString('hex', offset, offset + 24);
  offset += 24;
  return hex;
}
