/** The 5-byte prefix of a gRPC message: a flags byte (0x01 compressed, 0x80 gRPC-Web trailers) and a big-endian length. */
export const PREFIX = 5;

/** Frames one message: flags, 4-byte big-endian length, then the bytes. */
export function frame(message: Uint8Array, flags = 0): Buffer {
  const out = Buffer.allocUnsafe(PREFIX + message.length);
  out[0] = flags;
  out.writeUInt32BE(message.length, 1);
  out.set(message, PREFIX);
  return out;
}

export interface Frame {
  flags: number;
  data: Buffer;
}

/**
 * Splits a whole body into its frames. Throws on a truncated frame: a body that ends inside a
 * message is not a gRPC answer.
 */
export function readFrames(body: Buffer): Frame[] {
  const frames: Frame[] = [];
  let at = 0;
  while (at < body.length) {
    if (body.length - at < PREFIX) throw new Error('truncated gRPC frame prefix');
    const length = body.readUInt32BE(at + 1);
    const end = at + PREFIX + length;
    if (end > body.length) throw new Error('truncated gRPC message');
    frames.push({ flags: body[at]!, data: body.subarray(at + PREFIX, end) });
    at = end;
  }
  return frames;
}
