import { type IncomingHttpHeaders, type OutgoingHttpHeaders, request } from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { Readable } from 'node:stream';

export interface Reply {
  status: number;
  headers: IncomingHttpHeaders;
  body: Buffer;
  text: string;
  json<T = Record<string, unknown>>(): T;
}

/**
 * One HTTP request with node:http (no keep-alive), the whole answer read. The path is sent exactly
 * as written (no URL normalization), so tests can send `/../x` or `%2f` as a hostile client would.
 */
export function send(
  url: string,
  opts: {
    method?: string;
    headers?: OutgoingHttpHeaders;
    body?: string | Buffer | Readable;
    /** For https:// URLs: the CA to trust (HTTP/1.1 over TLS, no ALPN offered). */
    ca?: string | Buffer;
  } = {},
): Promise<Reply> {
  const m = /^(https?):\/\/([^/:]+):(\d+)(.*)$/.exec(url);
  if (!m) throw new Error(`send() takes http(s)://host:port/path, got ${url}`);
  const headers: OutgoingHttpHeaders = { ...opts.headers };
  const body = opts.body;
  if ((typeof body === 'string' || Buffer.isBuffer(body)) && headers['content-length'] === undefined) {
    headers['content-length'] = Buffer.byteLength(body);
  }
  return new Promise((resolve, reject) => {
    const target = { host: m[2], port: Number(m[3]), path: m[4] || '/' };
    const send = m[1] === 'https' ? httpsRequest : request;
    const tls = m[1] === 'https' ? { ca: opts.ca } : {};
    const req = send({ ...target, ...tls, method: opts.method ?? 'GET', headers, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('error', reject);
      res.on('end', () => {
        const body = Buffer.concat(chunks);
        const text = body.toString();
        resolve({
          status: res.statusCode ?? 0,
          headers: res.headers,
          body,
          text,
          json: () => JSON.parse(text),
        });
      });
    });
    req.on('error', reject);
    if (body === undefined) req.end();
    else if (typeof body === 'string' || Buffer.isBuffer(body)) req.end(body);
    else body.pipe(req);
  });
}
