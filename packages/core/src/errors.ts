import type { OutgoingHttpHeaders, ServerResponse } from 'node:http';

/** Every error a client can see, with its HTTP status and a short title (RFC 9457 `title`). */
export const ERRORS = {
  GW_BAD_REQUEST: { status: 400, title: 'Bad request' },
  GW_BAD_PATH: { status: 400, title: 'Bad path' },
  GW_UNAUTHORIZED: { status: 401, title: 'Unauthorized' },
  GW_FORBIDDEN: { status: 403, title: 'Forbidden' },
  GW_ROUTE_NOT_FOUND: { status: 404, title: 'Not found' },
  GW_METHOD_NOT_ALLOWED: { status: 405, title: 'Method not allowed' },
  GW_HOST_NOT_ALLOWED: { status: 400, title: 'Host not allowed' },
  GW_REQUEST_TIMEOUT: { status: 408, title: 'Request timeout' },
  GW_BODY_TOO_LARGE: { status: 413, title: 'Payload too large' },
  GW_RATE_LIMITED: { status: 429, title: 'Too many requests' },
  GW_INTERNAL: { status: 500, title: 'Internal error' },
  GW_UPSTREAM_ERROR: { status: 502, title: 'Bad gateway' },
  GW_UPSTREAM_UNAVAILABLE: { status: 503, title: 'Service unavailable' },
  GW_UPSTREAM_TIMEOUT: { status: 504, title: 'Gateway timeout' },
} as const satisfies Record<string, { status: number; title: string }>;

export type ErrorCode = keyof typeof ERRORS;

const kGatewayError = Symbol.for('lucid.gateway.error');

/**
 * The one error type the pipeline understands. Thrown by middleware, turned into an
 * `application/problem+json` answer by the gateway. Checked by brand, not `instanceof`,
 * so it survives two copies of this package in one app.
 *
 * @example throw new GatewayError('GW_FORBIDDEN', { detail: 'missing scope "admin"' })
 */
export class GatewayError extends Error {
  readonly [kGatewayError] = true;
  readonly code: ErrorCode;
  readonly status: number;
  readonly detail: string | undefined;
  readonly headers: OutgoingHttpHeaders | undefined;
  /** Extra problem members (e.g. `retryAfter`), merged into the body. */
  readonly extra: Record<string, unknown> | undefined;

  constructor(
    code: ErrorCode,
    opts: {
      detail?: string;
      headers?: OutgoingHttpHeaders;
      extra?: Record<string, unknown>;
      cause?: unknown;
    } = {},
  ) {
    super(opts.detail ?? ERRORS[code].title, { cause: opts.cause });
    this.name = 'GatewayError';
    this.code = code;
    this.status = ERRORS[code].status;
    this.detail = opts.detail;
    this.headers = opts.headers;
    this.extra = opts.extra;
  }
}

export function isGatewayError(err: unknown): err is GatewayError {
  return typeof err === 'object' && err !== null && (err as Record<symbol, unknown>)[kGatewayError] === true;
}

/**
 * Writes an RFC 9457 problem answer. Never includes a stack or an internal address.
 * When headers were already sent, the only honest signal left is to abort the connection.
 */
export function sendProblem(
  res: ServerResponse,
  err: GatewayError,
  requestId: string,
  extraHeaders?: OutgoingHttpHeaders,
): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  const spec = ERRORS[err.code];
  const body = JSON.stringify({
    type: `https://lucid-gateway.dev/errors/${err.code}`,
    title: spec.title,
    status: spec.status,
    code: err.code,
    ...(err.detail !== undefined && { detail: err.detail }),
    requestId,
    ...err.extra,
  });
  const headers: OutgoingHttpHeaders = {
    'content-type': 'application/problem+json',
    'content-length': Buffer.byteLength(body),
    'cache-control': 'no-store',
    ...extraHeaders,
    'x-request-id': requestId,
    ...err.headers,
  };
  // The rest of an oversized body is not worth reading: close instead of draining it.
  if (err.code === 'GW_BODY_TOO_LARGE') headers.connection = 'close';
  res.writeHead(spec.status, headers);
  res.end(res.req?.method === 'HEAD' ? undefined : body);
}
