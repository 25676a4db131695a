import { once } from 'node:events';
import { connect, type Socket } from 'node:net';

/** One HTTP/1.1 response as it came off the wire. */
export interface RawResponse {
  status: number;
  /** Header names lower-cased; repeated headers keep every value. */
  headers: Record<string, string[]>;
  body: Buffer;
}

export interface RawReply {
  /** Every byte the gateway sent. */
  raw: Buffer;
  /** The complete responses found in `raw`, in order. */
  responses: RawResponse[];
  /** Whether the gateway closed the connection (always true once `rawExchange` resolves). */
  closed: boolean;
}

/**
 * A raw TCP connection to the gateway: write exact bytes, read exactly what comes back.
 * `closed` settles when the gateway (or the test) closes the connection.
 */
export class RawConnection {
  readonly socket: Socket;
  readonly closed: Promise<void>;
  #chunks: Buffer[] = [];
  #waiters: Array<() => void> = [];

  private constructor(socket: Socket) {
    this.socket = socket;
    socket.on('data', (chunk: Buffer) => {
      this.#chunks.push(chunk);
      for (const wake of this.#waiters.splice(0)) wake();
    });
    // A reset from the gateway is one way of closing; the test looks at what arrived before it.
    socket.on('error', () => {});
    // Not events.once: it would reject on the 'error' that comes before a reset's 'close'.
    this.closed = new Promise<void>((resolve) =>
      socket.once('close', () => {
        for (const wake of this.#waiters.splice(0)) wake();
        resolve();
      }),
    );
  }

  static async open(port: number, host = '127.0.0.1'): Promise<RawConnection> {
    const socket = connect({ port, host });
    await once(socket, 'connect');
    return new RawConnection(socket);
  }

  write(bytes: string | Buffer): Promise<void> {
    return new Promise((resolve, reject) =>
      this.socket.write(typeof bytes === 'string' ? Buffer.from(bytes, 'latin1') : bytes, (err) =>
        err ? reject(err) : resolve(),
      ),
    );
  }

  /** Ends our side (Node's server then closes at once, dropping answers still in progress). */
  end(): void {
    this.socket.end();
  }

  get raw(): Buffer {
    return Buffer.concat(this.#chunks);
  }

  get isClosed(): boolean {
    return this.socket.destroyed || this.socket.readableEnded;
  }

  /** Waits until `n` complete responses arrived, or the connection closed first. */
  async responses(n: number): Promise<RawResponse[]> {
    for (;;) {
      const parsed = parseResponses(this.raw);
      if (parsed.length >= n || this.socket.destroyed || this.socket.readableEnded) return parsed;
      await new Promise<void>((resolve) => this.#waiters.push(resolve));
    }
  }

  /** Waits for the connection to close, then returns what arrived. */
  async untilClosed(): Promise<RawReply> {
    await this.closed;
    return { raw: this.raw, responses: parseResponses(this.raw), closed: true };
  }

  destroy(): void {
    this.socket.destroy();
  }
}

/**
 * Sends `bytes` on a fresh connection and reads until the gateway closes it. The bytes should end
 * with a request carrying `Connection: close` (or be refused), so the close is the gateway's answer
 * to everything it parsed; the client never half-closes, since Node's server then drops the answers
 * still being worked on.
 */
export async function rawExchange(port: number, bytes: string | Buffer): Promise<RawReply> {
  const conn = await RawConnection.open(port);
  try {
    await conn.write(bytes);
    return await conn.untilClosed();
  } finally {
    conn.destroy();
  }
}

/** CRLF-joins header lines into a request head: `head('GET / HTTP/1.1', 'Host: x')`. */
export function head(...lines: string[]): string {
  return `${lines.join('\r\n')}\r\n\r\n`;
}

/** Parses as many complete HTTP/1.1 responses as `raw` holds (Content-Length, chunked or no body). */
export function parseResponses(raw: Buffer): RawResponse[] {
  const out: RawResponse[] = [];
  let at = 0;
  while (at < raw.length) {
    const end = raw.indexOf('\r\n\r\n', at);
    if (end === -1) break;
    const lines = raw.subarray(at, end).toString('latin1').split('\r\n');
    const status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(lines[0] ?? '')?.[1] ?? Number.NaN);
    if (Number.isNaN(status)) break;
    const headers: Record<string, string[]> = {};
    for (const line of lines.slice(1)) {
      const colon = line.indexOf(':');
      const name = line.slice(0, colon).trim().toLowerCase();
      const values = headers[name] ?? [];
      values.push(line.slice(colon + 1).trim());
      headers[name] = values;
    }
    let pos = end + 4;
    let body: Buffer;
    if (status < 200 || status === 204 || status === 304) {
      body = Buffer.alloc(0);
    } else if (headers['transfer-encoding']?.some((v) => /chunked/i.test(v))) {
      const parts: Buffer[] = [];
      let complete = false;
      for (;;) {
        const lineEnd = raw.indexOf('\r\n', pos);
        if (lineEnd === -1) break;
        const size = Number.parseInt(raw.subarray(pos, lineEnd).toString('latin1'), 16);
        if (Number.isNaN(size)) break;
        if (size === 0) {
          // The last chunk, then trailers (usually none) and an empty line.
          const blank = raw.indexOf('\r\n', lineEnd + 2) === lineEnd + 2;
          const trailerEnd = blank ? lineEnd + 2 : raw.indexOf('\r\n\r\n', lineEnd + 2) + 2;
          if (trailerEnd < lineEnd + 2) break;
          pos = trailerEnd + 2;
          complete = true;
          break;
        }
        if (lineEnd + 2 + size + 2 > raw.length) break;
        parts.push(raw.subarray(lineEnd + 2, lineEnd + 2 + size));
        pos = lineEnd + 2 + size + 2;
      }
      if (!complete) break;
      body = Buffer.concat(parts);
    } else if (headers['content-length']) {
      const length = Number(headers['content-length'][0]);
      if (pos + length > raw.length) break;
      body = raw.subarray(pos, pos + length);
      pos += length;
    } else {
      // Delimited by the close.
      body = raw.subarray(pos);
      pos = raw.length;
    }
    out.push({ status, headers, body });
    at = pos;
  }
  return out;
}
