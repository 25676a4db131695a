import { GatewayError, isGatewayError } from '../errors.js';

/** How a failed upstream exchange is counted (metrics, outlier detection) and answered. */
export type UpstreamOutcome = 'unavailable' | 'timeout' | 'error';

/** Raised by engines when no response headers arrived within the service's timeout. */
export class UpstreamTimeoutError extends Error {
  readonly code = 'GW_UPSTREAM_TIMEOUT';
  constructor(ms: number) {
    super(`no response within ${ms}ms`);
    this.name = 'UpstreamTimeoutError';
  }
}

const UNAVAILABLE = new Set([
  'ECONNREFUSED',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EHOSTDOWN',
  'UND_ERR_CONNECT_TIMEOUT',
  'ETIMEDOUT',
  'GW_NO_TARGET',
  'GW_BREAKER_OPEN',
]);
const TIMEOUT = new Set(['GW_UPSTREAM_TIMEOUT', 'UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT']);

/** Errors that mean the connection failed before the upstream could have acted on the request. */
const CONNECT_PHASE = new Set([
  'ECONNREFUSED',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'UND_ERR_CONNECT_TIMEOUT',
]);

export function errorCode(err: unknown): string | undefined {
  const e = err as { code?: unknown; cause?: { code?: unknown } } | undefined;
  if (typeof e?.code === 'string') return e.code;
  if (typeof e?.cause?.code === 'string') return e.cause.code;
  return undefined;
}

export function classifyUpstreamError(err: unknown): UpstreamOutcome {
  const code = errorCode(err);
  if (code !== undefined && UNAVAILABLE.has(code)) return 'unavailable';
  if (code !== undefined && TIMEOUT.has(code)) return 'timeout';
  return 'error';
}

/** True when the request certainly never reached the upstream application. */
export function failedBeforeSending(err: unknown): boolean {
  const code = errorCode(err);
  return code !== undefined && CONNECT_PHASE.has(code);
}

/**
 * True for failures where nothing came back: the connect phase, or a reused keep-alive socket the
 * upstream closed as the request went out. Safe to retry for idempotent, body-less requests.
 */
export function retryableFailure(err: unknown): boolean {
  const code = errorCode(err);
  return (
    failedBeforeSending(err) ||
    code === 'ECONNRESET' ||
    code === 'UND_ERR_SOCKET' ||
    code === 'EPIPE' ||
    code === 'UND_ERR_CLOSED'
  );
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
