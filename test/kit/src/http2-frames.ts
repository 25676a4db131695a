import { connect, type Socket } from 'node:net';

/** HTTP/2 frame types and flags used by the raw client (RFC 9113 §6). */
export const FRAME = {
  DATA: 0,
  HEADERS: 1,
  RST_STREAM: 3,
  SETTINGS: 4,
  PING: 6,
  GOAWAY: 7,
  WINDOW_UPDATE: 8,
  CONTINUATION: 9,
} as const;
export const FLAG = { END_STREAM: 0x1, ACK: 0x1, END_HEADERS: 0x4 } as const;
const PREFACE = Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n', 'latin1');

/** One frame: 9-byte header and payload. */
export function frame(
  type: number,
  flags: number,
  streamId: number,
  payload: Buffer = Buffer.alloc(0),
): Buffer {
  const head = Buffer.alloc(9);
  head.writeUIntBE(payload.length, 0, 3);
  head[3] = type;
  head[4] = flags;
  head.writeUInt32BE(streamId & 0x7fffffff, 5);
  return Buffer.concat([head, payload]);
}

function hpackString(s: string | Buffer): Buffer {
  const bytes = Buffer.isBuffer(s) ? s : Buffer.from(s, 'latin1');
  return Buffer.concat([hpackInt(bytes.length, 7, 0), bytes]);
}

function hpackInt(value: number, prefixBits: number, firstByteFlags: number): Buffer {
  const max = (1 << prefixBits) - 1;
  if (value < max) return Buffer.from([firstByteFlags | value]);
  const out = [firstByteFlags | max];
  let rest = value - max;
  while (rest >= 128) {
    out.push((rest % 128) + 128);
    rest = Math.floor(rest / 128);
  }
  out.push(rest);
  return Buffer.from(out);
}

/**
 * An HPACK header block of literal fields without indexing (no dynamic table, no Huffman): what a
 * hostile client can send without an HPACK library.
 */
export function headerBlock(headers: Array<[string, string]>): Buffer {
  return Buffer.concat(
    headers.flatMap(([name, value]) => [Buffer.from([0x00]), hpackString(name), hpackString(value)]),
  );
}

/** A GET request's header block for `path` on `authority`. */
export function getRequest(authority: string, path = '/', extra: Array<[string, string]> = []): Buffer {
  return headerBlock([
    [':method', 'GET'],
    [':scheme', 'http'],
    [':authority', authority],
    [':path', path],
    ...extra,
  ]);
}

export interface RawFrame {
  type: number;
  flags: number;
  streamId: number;
  payload: Buffer;
}

/**
 * A raw HTTP/2 client over cleartext TCP: sends the preface and an empty SETTINGS frame, then
 * whatever frames the test writes, and parses every frame the server sends.
 */
export interface RawH2 {
  socket: Socket;
  frames: RawFrame[];
  send(...frames: Buffer[]): boolean;
  /** Resolves with the first frame (so far or later) that matches. */
  waitFor(match: (f: RawFrame) => boolean): Promise<RawFrame>;
  /** Resolves when the server closed the connection. */
  closed: Promise<void>;
  destroy(): void;
}

export function rawH2(port: number, host = '127.0.0.1'): Promise<RawH2> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, host);
    const frames: RawFrame[] = [];
    const waiters: Array<{ match: (f: RawFrame) => boolean; resolve: (f: RawFrame) => void }> = [];
    let buffered = Buffer.alloc(0);
    socket.on('data', (chunk: Buffer) => {
      buffered = Buffer.concat([buffered, chunk]);
      while (buffered.length >= 9) {
        const length = buffered.readUIntBE(0, 3);
        if (buffered.length < 9 + length) break;
        const f: RawFrame = {
          type: buffered[3]!,
          flags: buffered[4]!,
          streamId: buffered.readUInt32BE(5) & 0x7fffffff,
          payload: buffered.subarray(9, 9 + length),
        };
        buffered = buffered.subarray(9 + length);
        frames.push(f);
        for (const w of waiters.filter((w) => w.match(f))) {
          waiters.splice(waiters.indexOf(w), 1);
          w.resolve(f);
        }
      }
    });
    socket.on('error', () => {});
    const closed = new Promise<void>((r) => socket.once('close', () => r()));
    socket.once('connect', () => {
      socket.write(Buffer.concat([PREFACE, frame(FRAME.SETTINGS, 0, 0)]));
      resolve({
        socket,
        frames,
        send: (...fs) => socket.write(Buffer.concat(fs)),
        waitFor(match) {
          const seen = frames.find(match);
          if (seen) return Promise.resolve(seen);
          return new Promise((r) => waiters.push({ match, resolve: r }));
        },
        closed,
        destroy: () => socket.destroy(),
      });
    });
    socket.once('error', reject);
  });
}

/** The error code of a GOAWAY or RST_STREAM frame. */
export function errorCodeOf(f: RawFrame): number {
  return f.type === FRAME.GOAWAY ? f.payload.readUInt32BE(4) : f.payload.readUInt32BE(0);
}
