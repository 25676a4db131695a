import { GatewayError, isGatewayError } from '../errors.js';

/** How a failed upstream exchange is counted (metrics, outlier detection, breaker) and answered. */
export type UpstreamOutcome = 'unavailable' | 'timeout' | 'error';

// Internal codes (never sent to a client) stay out of the public GW_ namespace.

/** Raised by engines when no response headers arrived within the service's timeout. */
export class UpstreamTimeoutError extends Error {
  readonly code = 'LUCID_UPSTREAM_HEADERS_TIMEOUT';
  constructor(ms: number) {
    super(`no response within ${ms}ms`);
    this.name = 'UpstreamTimeoutError';
  }
}

/** Raised when an upstream connection stays silent (no bytes either way) longer than the idle timeout. */
export class UpstreamIdleTimeoutError extends Error {
  readonly code = 'LUCID_UPSTREAM_IDLE';
  constructor(ms: number) {
    super(`upstream idle for ${ms}ms`);
    this.name = 'UpstreamIdleTimeoutError';
  }
}

/** Raised when a connection to the upstream was not established within the connect timeout. */
export class UpstreamConnectTimeoutError extends Error {
  readonly code = 'LUCID_UPSTREAM_CONNECT_TIMEOUT';
  constructor(ms: number) {
    super(`no connection within ${ms}ms`);
    this.name = 'UpstreamConnectTimeoutError';
  }
}

/** Raised when the whole exchange outlived its deadline (`OutgoingRequest.deadline`, e.g. gRPC's grpc-timeout). */
export class UpstreamDeadlineError extends Error {
  readonly code = 'LUCID_UPSTREAM_DEADLINE';
  constructor(ms: number) {
    super(`exchange not finished within ${ms}ms`);
    this.name = 'UpstreamDeadlineError';
  }
}

/** An HTTP/2 upstream reset the stream with REFUSED_STREAM: RFC 9113 §8.7, it was not processed. */
export class UpstreamRefusedStreamError extends Error {
  readonly code = 'LUCID_UPSTREAM_REFUSED_STREAM';
  constructor() {
    super('upstream refused the stream');
    this.name = 'UpstreamRefusedStreamError';
  }
}

/** An HTTP/2 upstream reset the stream before its answer ended (any code but REFUSED_STREAM). */
export class UpstreamStreamResetError extends Error {
  readonly code = 'LUCID_UPSTREAM_STREAM_RESET';
  constructor(readonly rstCode: number) {
    super(`upstream reset the stream (code ${rstCode})`);
    this.name = 'UpstreamStreamResetError';
  }
}

/**
 * An upstream answered a WebSocket handshake with 101 but not for the request it was sent (no
 * `Upgrade: websocket`, or no `Sec-WebSocket-Accept` matching the key): nothing is tunneled (502).
 */
export class UpstreamBadUpgradeError extends Error {
  readonly code = 'LUCID_UPSTREAM_BAD_UPGRADE';
  constructor(reason: string) {
    super(`upstream switched protocols without accepting the WebSocket handshake: ${reason}`);
    this.name = 'UpstreamBadUpgradeError';
  }
}

/** The connection could not be made: the request certainly never reached the upstream application. */
const CONNECT_PHASE = new Set([
  'ECONNREFUSED',
  // http-proxy-3's connect timeout
  'ECONNECT_TIMEOUT',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'UND_ERR_CONNECT_TIMEOUT',
  'LUCID_UPSTREAM_CONNECT_TIMEOUT',
  // HTTP/2: the stream was refused, or the session was going away before the stream was sent.
  'LUCID_UPSTREAM_REFUSED_STREAM',
  'ERR_HTTP2_GOAWAY_SESSION',
  'ERR_HTTP2_INVALID_SESSION',
]);
const UNAVAILABLE = new Set([...CONNECT_PHASE, 'ETIMEDOUT']);
const TIMEOUT = new Set([
  'LUCID_UPSTREAM_HEADERS_TIMEOUT',
  'LUCID_UPSTREAM_DEADLINE',
  'LUCID_UPSTREAM_IDLE',
  'LUCID_UPSTREAM_DEADLINE',
  'UND_ERR_HEADERS_TIMEOUT',
  'UND_ERR_BODY_TIMEOUT',
]);
/** The connection broke with no answer: among others, the idle keep-alive race on a reused socket. */
const CONNECTION_LOST = new Set(['ECONNRESET', 'EPIPE', 'UND_ERR_SOCKET', 'UND_ERR_CLOSED']);

/** The error's code, or its cause's, or (Happy Eyeballs' AggregateError) its first error's. */
export function errorCode(err: unknown): string | undefined {
  const e = err as
    | { code?: unknown; cause?: { code?: unknown }; errors?: Array<{ code?: unknown }> }
    | undefined;
  if (typeof e?.code === 'string') return e.code;
  if (typeof e?.cause?.code === 'string') return e.cause.code;
  const first = e?.errors?.[0]?.code;
  return typeof first === 'string' ? first : undefined;
}

/** `unavailable` (could not connect), `timeout` (no answer in time) or `error` (anything else). */
export function classifyUpstreamError(err: unknown): UpstreamOutcome {
  const code = errorCode(err);
  if (code !== undefined && UNAVAILABLE.has(code)) return 'unavailable';
  if (code !== undefined && TIMEOUT.has(code)) return 'timeout';
  return 'error';
}

/**
 * True for failures where nothing came back: the connect phase, or a connection that broke before
 * an answer (a reused keep-alive socket the upstream closed as the request went out). The caller
 * still decides whether the request may be sent twice (idempotent, body-less, nothing relayed yet).
 */
export function retryableFailure(err: unknown): boolean {
  const code = errorCode(err);
  return code !== undefined && (CONNECT_PHASE.has(code) || CONNECTION_LOST.has(code));
}

/**
 * True only when the upstream certainly never saw the request: the connection was never made, or
 * its HTTP/2 server refused the stream (REFUSED_STREAM: "no application processing", RFC 9113 §8.7).
 * A broken connection is not enough here: the upstream may have acted on a call before it broke.
 */
export function unseenByUpstream(err: unknown): boolean {
  const code = errorCode(err);
  // The connect phase includes REFUSED_STREAM and a session that was going away before the stream went out.
  if (code !== undefined && CONNECT_PHASE.has(code)) return true;
  // node:http2 cancels the streams that waited on a session which never connected, naming why.
  const cause = (err as { code?: unknown; cause?: { code?: unknown } } | undefined)?.cause?.code;
  return code === 'ERR_HTTP2_STREAM_CANCEL' && typeof cause === 'string' && CONNECT_PHASE.has(cause);
}

/** Maps an engine failure to the client's answer; never exposes an address or a stack. */
export function toGatewayError(err: unknown, service: string): GatewayError {
  if (isGatewayError(err)) return err;
  switch (classifyUpstreamError(err)) {
    case 'unavailable':
      return new GatewayError('GW_UPSTREAM_UNAVAILABLE', {
        detail: `service "${service}" is unavailable`,
        cause: err,
      });
    case 'timeout':
      return new GatewayError('GW_UPSTREAM_TIMEOUT', {
        detail: `service "${service}" did not answer in time`,
        cause: err,
      });
    default:
      return new GatewayError('GW_UPSTREAM_ERROR', { detail: `service "${service}" failed`, cause: err });
  }
}
