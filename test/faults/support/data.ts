import { createHash, randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';

const CHUNK = 1024 * 1024;
const BASE = randomBytes(CHUNK);

/**
 * `total` bytes, made on the fly in 1 MiB chunks, each stamped with its index (so a lost, doubled
 * or reordered chunk changes the hash), with the sha256 of what was produced once it ended.
 */
export function patterned(total: number): { stream: Readable; sha256: Promise<string> } {
  const hash = createHash('sha256');
  let sent = 0;
  let index = 0;
  let done: (sha: string) => void;
  const sha256 = new Promise<string>((resolve) => {
    done = resolve;
  });
  const stream = new Readable({
    highWaterMark: CHUNK,
    read() {
      if (sent >= total) {
        done(hash.digest('hex'));
        this.push(null);
        return;
      }
      const size = Math.min(CHUNK, total - sent);
      const chunk = Buffer.allocUnsafe(size);
      BASE.copy(chunk, 0, 0, size);
      if (size >= 8) chunk.writeBigUInt64BE(BigInt(index), 0);
      index++;
      sent += size;
      hash.update(chunk);
      this.push(chunk);
    },
  });
  return { stream, sha256 };
}

/** Reads a stream to its end: how many bytes and their sha256. */
export async function digest(stream: AsyncIterable<Buffer>): Promise<{ bytes: number; sha256: string }> {
  const hash = createHash('sha256');
  let bytes = 0;
  for await (const chunk of stream) {
    bytes += chunk.length;
    hash.update(chunk);
  }
  return { bytes, sha256: hash.digest('hex') };
}
