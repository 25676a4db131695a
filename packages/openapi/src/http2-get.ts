import { connect, constants } from 'node:http2';
import type { TlsOptions } from '@lucid/gateway-core';

export interface Http2Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
}

/**
 * One GET over a fresh HTTP/2 session (h2c for http://, TLS with ALPN "h2" for https://), closed
 * after: for the gateway's own background reads of HTTP/2 services (their OpenAPI documents).
 * The body is cut off past `maxSize` (the promise rejects with `tooLarge()`).
 */
export function http2Get(
  url: URL,
  opts: {
    tls?: TlsOptions | undefined;
    headers?: Record<string, string>;
    signal: AbortSignal;
    maxSize: number;
    tooLarge: () => Error;
  },
): Promise<Http2Answer> {
  return new Promise<Http2Answer>((resolve, reject) => {
    const session = connect(
      url.origin,
      url.protocol === 'https:' ? { ...opts.tls, ALPNProtocols: ['h2'] } : {},
    );
    const finish = (err: Error | undefined, answer?: Http2Answer) => {
      opts.signal.removeEventListener('abort', abort);
      session.destroy();
      if (err) reject(err);
      else resolve(answer!);
    };
    const abort = () =>
      finish(opts.signal.reason instanceof Error ? opts.signal.reason : new Error('aborted'));
    if (opts.signal.aborted) return abort();
    opts.signal.addEventListener('abort', abort, { once: true });
    session.once('error', (err) => finish(err));
    const stream = session.request(
      { ':method': 'GET', ':path': url.pathname + url.search, ...opts.headers },
      { endStream: true },
    );
    stream.once('error', (err) => finish(err));
    stream.once('response', (headers) => {
      const status = Number(headers[constants.HTTP2_HEADER_STATUS]);
      const chunks: Buffer[] = [];
      let size = 0;
      stream.on('data', (chunk: Buffer) => {
        size += chunk.length;
        if (size > opts.maxSize) finish(opts.tooLarge());
        else chunks.push(chunk);
      });
      stream.once('end', () => finish(undefined, { status, headers, body: Buffer.concat(chunks) }));
    });
  });
}
