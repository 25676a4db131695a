/**
 * What every upstream engine promises, whatever carries the bytes (undici, http-proxy-3, node:http2,
 * the WebSocket tunnel). The options of an `OutgoingRequest` mean one thing everywhere:
 *
 * - `timeout` (ms, > 0): the upstream's answer head must arrive within it, else the engine rejects
 *   with a timeout (`LUCID_UPSTREAM_HEADERS_TIMEOUT` or undici's `UND_ERR_HEADERS_TIMEOUT`). The
 *   config refuses 0; an embedder calling an engine with 0 (or less) gets no head timeout, on
 *   every engine alike.
 * - `deadline` (ms, optional): the whole exchange (head and body; for a tunnel, the handshake) must
 *   be over within it, else the upstream request is cancelled and the engine rejects with
 *   `LUCID_UPSTREAM_DEADLINE`. A response already started is cut, never ended as if complete.
 * - `fresh`: the request goes out on a connection opened for it, not a pooled one (a tunnel always
 *   opens its own).
 * - `transport.connectTimeout` / `transport.idleTimeout` (ms, > 0): to open the connection, and the
 *   longest silence while the answer streams (a tunnel, quiet by nature, has no idle timeout).
 *
 * The client leaving aborts the upstream request, and the engine rejects with `ClientAbortedError`
 * (or resolves when the answer had already been sent whole); an upstream that resets mid-answer
 * cuts the client's response. The errors engines share live here and in `upstream-error.ts`, never
 * in one engine's own file.
 */

/** The client went away; the upstream request is aborted with this. */
export class ClientAbortedError extends Error {
  readonly code = 'LUCID_CLIENT_ABORTED';
  constructor() {
    super('client closed the connection');
    this.name = 'ClientAbortedError';
  }
}

/** True when `ms` asks for a timer: a positive, finite number of milliseconds. */
export const armed = (ms: number | undefined): ms is number =>
  ms !== undefined && ms > 0 && Number.isFinite(ms);
