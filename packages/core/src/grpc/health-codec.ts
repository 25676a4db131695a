import { frame, readFrames } from './frame.js';

/** The method of the gRPC health checking protocol (grpc/doc/health-checking.md). */
export const HEALTH_CHECK_PATH = '/grpc.health.v1.Health/Check';

/** `HealthCheckResponse.ServingStatus`. */
export const ServingStatus = { UNKNOWN: 0, SERVING: 1, NOT_SERVING: 2, SERVICE_UNKNOWN: 3 } as const;

/**
 * A framed `HealthCheckRequest { string service = 1; }`, hand-encoded: the empty name (the server
 * as a whole) is the empty message.
 */
export function encodeHealthCheckRequest(service: string): Buffer {
  if (service === '') return frame(new Uint8Array(0));
  const name = Buffer.from(service, 'utf8');
  return frame(Buffer.concat([Buffer.from([0x0a]), varint(name.length), name]));
}

function varint(n: number): Buffer {
  const bytes: number[] = [];
  while (n > 0x7f) {
    bytes.push((n & 0x7f) | 0x80);
    n >>>= 7;
  }
  bytes.push(n);
  return Buffer.from(bytes);
}

/**
 * The `status` (field 1, varint) of a framed `HealthCheckResponse`; unknown fields are skipped,
 * as protobuf readers must. Throws on anything that is not one uncompressed, well-formed message.
 */
export function decodeHealthCheckResponse(body: Buffer): number {
  const frames = readFrames(body);
  if (frames.length !== 1) throw new Error(`expected one message, got ${frames.length}`);
  const { flags, data } = frames[0]!;
  if (flags !== 0) throw new Error('compressed or unknown frame');
  let status = ServingStatus.UNKNOWN as number;
  let at = 0;
  const read = (): number => {
    let value = 0;
    let shift = 0;
    for (;;) {
      if (at >= data.length) throw new Error('truncated varint');
      const b = data[at++]!;
      if (shift < 28) value |= (b & 0x7f) << shift;
      else value += (b & 0x7f) * 2 ** shift;
      if ((b & 0x80) === 0) return value;
      shift += 7;
      if (shift > 63) throw new Error('varint too long');
    }
  };
  while (at < data.length) {
    const key = read();
    const field = Math.floor(key / 8);
    const wire = key & 7;
    if (wire === 0) {
      const value = read();
      if (field === 1) status = value;
    } else if (wire === 2) {
      const length = read(); // read first: it moves `at`
      at += length;
    } else if (wire === 1) {
      at += 8;
    } else if (wire === 5) {
      at += 4;
    } else {
      throw new Error(`unsupported wire type ${wire}`);
    }
    if (at > data.length) throw new Error('truncated field');
  }
  return status;
}
