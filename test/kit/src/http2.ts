import {
  type ClientHttp2Session,
  connect,
  type IncomingHttpHeaders,
  type OutgoingHttpHeaders,
} from 'node:http2';

export interface H2Response {
  status: number;
  headers: IncomingHttpHeaders;
  body: Buffer;
  trailers: IncomingHttpHeaders;
  /** The answer ended with its HEADERS frame (END_STREAM there, as gRPC's trailers-only answers do). */
  endedWithHeaders: boolean;
}

export interface H2RequestOptions {
  method?: string;
  headers?: OutgoingHttpHeaders;
  body?: string | Buffer;
  /** Trusted CA (PEM) for an https:// URL. */
  ca?: string | Buffer;
  /** Reuse this session instead of opening one (it stays open). */
  session?: ClientHttp2Session;
}

/** Opens an HTTP/2 session: prior knowledge for http:// (h2c), ALPN for https://. */
export function h2Connect(origin: string, ca?: string | Buffer): Promise<ClientHttp2Session> {
  return new Promise((resolve, reject) => {
    const session = connect(origin, ca === undefined ? {} : { ca });
    session.once('connect', () => resolve(session));
    // Later session errors surface on the streams; one before the connection is a failed connect.
    session.on('error', reject);
  });
}

/**
 * One HTTP/2 request, read whole. `url` is the full URL (path and query are sent as `:path`).
 * Opens and closes its own session unless one is given.
 */
export async function h2Request(url: string, opts: H2RequestOptions = {}): Promise<H2Response> {
  const u = new URL(url);
  const session = opts.session ?? (await h2Connect(u.origin, opts.ca));
  try {
    return await new Promise<H2Response>((resolve, reject) => {
      const stream = session.request({
        ':method': opts.method ?? 'GET',
        ':path': u.pathname + u.search,
        ...opts.headers,
      });
      let status = 0;
      let headers: IncomingHttpHeaders = {};
      let trailers: IncomingHttpHeaders = {};
      let endedWithHeaders = false;
      const chunks: Buffer[] = [];
      stream.on('response', (h, flags) => {
        status = Number(h[':status']);
        headers = h;
        endedWithHeaders = (flags & 0x1) === 0x1;
      });
      stream.on('trailers', (t) => {
        trailers = t;
      });
      stream.on('data', (c: Buffer) => chunks.push(c));
      stream.on('end', () =>
        resolve({ status, headers, body: Buffer.concat(chunks), trailers, endedWithHeaders }),
      );
      stream.on('error', reject);
      stream.on('close', () => {
        if (status === 0) reject(new Error(`stream closed with code ${stream.rstCode}`));
      });
      stream.end(opts.body);
    });
  } finally {
    if (opts.session === undefined) session.close();
  }
}
