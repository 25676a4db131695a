import type { GatewayError } from '../errors.js';

/** The gRPC status codes (grpc/doc/statuscodes.md). */
export const GrpcStatus = {
  OK: 0,
  CANCELLED: 1,
  UNKNOWN: 2,
  INVALID_ARGUMENT: 3,
  DEADLINE_EXCEEDED: 4,
  NOT_FOUND: 5,
  ALREADY_EXISTS: 6,
  PERMISSION_DENIED: 7,
  RESOURCE_EXHAUSTED: 8,
  FAILED_PRECONDITION: 9,
  ABORTED: 10,
  OUT_OF_RANGE: 11,
  UNIMPLEMENTED: 12,
  INTERNAL: 13,
  UNAVAILABLE: 14,
  DATA_LOSS: 15,
  UNAUTHENTICATED: 16,
} as const;

export type GrpcStatusCode = (typeof GrpcStatus)[keyof typeof GrpcStatus];

/**
 * The gateway's own refusals by HTTP status. It follows http-grpc-status-mapping.md where the
 * gateway knows no more than any proxy (401, 403, 404, 502, 503), and says what it knows where it
 * does: a rate limit or a size cap is RESOURCE_EXHAUSTED (not UNAVAILABLE, which invites a retry at
 * once), its own timeout is DEADLINE_EXCEEDED, and a request it refused as malformed (bad path,
 * two Host headers) is INVALID_ARGUMENT: the caller's fault, not to be retried, where the spec's
 * INTERNAL would blame the server.
 */
const BY_HTTP_STATUS: Readonly<Record<number, GrpcStatusCode>> = {
  400: GrpcStatus.INVALID_ARGUMENT,
  401: GrpcStatus.UNAUTHENTICATED,
  403: GrpcStatus.PERMISSION_DENIED,
  404: GrpcStatus.UNIMPLEMENTED,
  405: GrpcStatus.UNIMPLEMENTED,
  408: GrpcStatus.DEADLINE_EXCEEDED,
  413: GrpcStatus.RESOURCE_EXHAUSTED,
  429: GrpcStatus.RESOURCE_EXHAUSTED,
  431: GrpcStatus.RESOURCE_EXHAUSTED,
  500: GrpcStatus.INTERNAL,
  501: GrpcStatus.UNIMPLEMENTED,
  502: GrpcStatus.UNAVAILABLE,
  503: GrpcStatus.UNAVAILABLE,
  504: GrpcStatus.DEADLINE_EXCEEDED,
};

/** The gRPC status of a gateway error (by its HTTP status; a plugin's codes map the same way). */
export function grpcStatusOf(problem: Pick<GatewayError, 'status'>): GrpcStatusCode {
  return BY_HTTP_STATUS[problem.status] ?? GrpcStatus.UNKNOWN;
}

const HEX = '0123456789ABCDEF';

/**
 * `grpc-message` as PROTOCOL-HTTP2.md wants it: the UTF-8 bytes of the text, with every byte
 * outside printable ASCII (0x20-0x7E) and `%` itself percent-encoded.
 */
export function encodeGrpcMessage(text: string): string {
  let plain = true;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c < 0x20 || c > 0x7e || c === 0x25) {
      plain = false;
      break;
    }
  }
  if (plain) return text;
  let out = '';
  for (const byte of Buffer.from(text, 'utf8')) {
    out +=
      byte < 0x20 || byte > 0x7e || byte === 0x25
        ? `%${HEX[byte >> 4]}${HEX[byte & 15]}`
        : String.fromCharCode(byte);
  }
  return out;
}

/** Reads a `grpc-message` back; a malformed escape is kept as it is (the spec asks for leniency). */
export function decodeGrpcMessage(value: string): string {
  if (!value.includes('%')) return value;
  const bytes: number[] = [];
  for (let i = 0; i < value.length; i++) {
    const c = value.charCodeAt(i);
    if (c === 0x25 && /^[0-9a-fA-F]{2}$/.test(value.slice(i + 1, i + 3))) {
      bytes.push(Number.parseInt(value.slice(i + 1, i + 3), 16));
      i += 2;
    } else {
      bytes.push(c & 0xff);
    }
  }
  return Buffer.from(bytes).toString('utf8');
}

/** Reads a `grpc-status` header or trailer value; anything that is not one of the codes is UNKNOWN. */
export function parseGrpcStatus(value: unknown): GrpcStatusCode | undefined {
  if (value === undefined) return undefined;
  const s = String(value);
  if (!/^\d{1,2}$/.test(s)) return GrpcStatus.UNKNOWN;
  const n = Number(s);
  return n <= 16 ? (n as GrpcStatusCode) : GrpcStatus.UNKNOWN;
}
