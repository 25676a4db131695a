import type { OutgoingHttpHeaders } from 'node:http';
import { sendJson } from './http/send-json.js';

export interface ErrorSpec {
  status: number;
  /** A short title (RFC 9457 `title`). */
  title: string;
}

/** The codes core answers with. Plugins add theirs with `registerErrors` (or `GatewayPlugin.errors`). */
export const CORE_ERRORS = {
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
} as const satisfies Record<string, ErrorSpec>;

export type CoreErrorCode = keyof typeof CORE_ERRORS;
/** Core's codes, or one a plugin registered. */
export type ErrorCode = CoreErrorCode | (string & {});

// The one table, shared by every copy of this package in the process (as the error brand is).
const kErrorTable = Symbol.for('lucid.gateway.errorTable');
const shared = globalThis as { [kErrorTable]?: Map<string, ErrorSpec> };
shared[kErrorTable] ??= new Map<string, ErrorSpec>(Object.entries(CORE_ERRORS));
const table = shared[kErrorTable];

const CODE = /^[A-Z][A-Z0-9]*(_[A-Z0-9]+)+$/;

/**
 * Adds codes to the one error table. A code is registered once: the same spec again is fine,
 * a different status or title for a known code is refused (two plugins must not share a code).
 *
 * @example registerErrors({ GW_AUTH_KEYS_UNAVAILABLE: { status: 503, title: 'Signing keys unavailable' } })
 */
export function registerErrors(codes: Readonly<Record<string, ErrorSpec>>): void {
  for (const [code, spec] of Object.entries(codes)) {
    if (!CODE.test(code)) throw new Error(`error code "${code}" should read like GW_SOMETHING_WRONG`);
    if (!Number.isInteger(spec.status) || spec.status < 400 || spec.status > 599) {
      throw new Error(`error code "${code}": status ${spec.status} is not an error status (400-599)`);
    }
    const known = table.get(code);
    if (known && (known.status !== spec.status || known.title !== spec.title)) {
      throw new Error(`error code "${code}" is already registered as ${known.status} "${known.title}"`);
    }
    table.set(code, { status: spec.status, title: spec.title });
  }
}

/** The spec of a registered code, or undefined. */
export function errorSpec(code: string): ErrorSpec | undefined {
  return table.get(code);
}

const kGatewayError = Symbol.for('lucid.gateway.error');

/**
 * The one error type the pipeline understands. Thrown by middleware, turned into an
 * `application/problem+json` answer by the gateway. Checked by brand, not `instanceof`,
 * so it survives two copies of this package in one app. The code must be in the error table.
 *
 * @example throw new GatewayError('GW_FORBIDDEN', { detail: 'missing scope "admin"' })
 */
export class GatewayError extends Error {
  readonly [kGatewayError] = true;
  readonly code: ErrorCode;
  readonly status: number;
  readonly title: string;
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
    const spec = table.get(code);
    if (spec === undefined) throw new Error(`unregistered error code "${code}" (see registerErrors)`);
    super(opts.detail ?? spec.title, { cause: opts.cause });
    this.name = 'GatewayError';
    this.code = code;
    this.status = spec.status;
    this.title = spec.title;
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
  res: import('node:http').ServerResponse,
  err: GatewayError,
  requestId: string,
  extraHeaders?: OutgoingHttpHeaders,
): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  const body = {
    type: `https://lucid-gateway.dev/errors/${err.code}`,
    title: err.title,
    status: err.status,
    code: err.code,
    ...(err.detail !== undefined && { detail: err.detail }),
    requestId,
    ...err.extra,
  };
  // The rest of an oversized body is not worth reading: close instead of draining it. (HTTP/2 has no
  // Connection header; the stream is reset once the answer is out, other streams go on.)
  const close =
    err.code === 'GW_BODY_TOO_LARGE' && res.req.httpVersionMajor !== 2 ? { connection: 'close' } : undefined;
  sendJson(res, err.status, body, {
    contentType: 'application/problem+json',
    requestId,
    headers: { ...extraHeaders, ...err.headers, ...close },
  });
}
