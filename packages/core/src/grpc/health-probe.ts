import { connect, constants } from 'node:http2';
import type { TlsOptions } from '../types.js';
import type { Probe } from '../upstream/health-probe.js';
import {
  decodeHealthCheckResponse,
  encodeHealthCheckRequest,
  HEALTH_CHECK_PATH,
  ServingStatus,
} from './health-codec.js';
import { parseGrpcStatus } from './status.js';

/** Largest answer a health check may send (a status and little else). */
const MAX_ANSWER = 4096;

/**
 * A gRPC health probe (grpc.health.v1.Health/Check): healthy when the target answers SERVING with
 * grpc-status 0 within the timeout. Each probe opens its own HTTP/2 connection and closes it, as
 * the HTTP probe does, so a check leaves nothing pooled. `service` '' asks about the server as a whole.
 *
 * @example
 * const probe = grpcHealthProbe('lucid.Echo');
 * const ok = await probe(new URL('h2c://10.0.0.5:50051'), 2_000, stop.signal);
 */
export function grpcHealthProbe(service: string, tls?: TlsOptions): Probe {
  const request = encodeHealthCheckRequest(service);
  return (url, timeoutMs, signal) =>
    new Promise<boolean>((resolve) => {
      const secure = url.protocol === 'https:';
      const authority = `${secure ? 'https' : 'http'}://${url.host}`;
      const session = connect(authority, secure ? { ...tls, ALPNProtocols: ['h2'] } : {});
      const chunks: Buffer[] = [];
      let size = 0;
      let grpcStatus: number | undefined;
      let settled = false;
      const done = (ok: boolean) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        signal.removeEventListener('abort', abort);
        session.destroy();
        resolve(ok);
      };
      const abort = () => done(false);
      const timer = setTimeout(abort, timeoutMs);
      signal.addEventListener('abort', abort, { once: true });
      session.on('error', abort);
      const stream = session.request({
        [constants.HTTP2_HEADER_METHOD]: 'POST',
        [constants.HTTP2_HEADER_PATH]: HEALTH_CHECK_PATH,
        'content-type': 'application/grpc',
        te: 'trailers',
        'grpc-timeout': `${Math.max(1, Math.floor(timeoutMs))}m`,
      });
      stream.on('error', abort);
      stream.on('response', (headers) => {
        // A trailers-only answer carries its status in the headers.
        if (headers['grpc-status'] !== undefined) grpcStatus = parseGrpcStatus(headers['grpc-status']);
        if (headers[':status'] !== 200) done(false);
      });
      stream.on('trailers', (trailers) => {
        grpcStatus = parseGrpcStatus(trailers['grpc-status']);
      });
      stream.on('data', (chunk: Buffer) => {
        size += chunk.length;
        if (size > MAX_ANSWER) return done(false);
        chunks.push(chunk);
      });
      stream.on('end', () => {
        if (grpcStatus !== 0) return done(false);
        try {
          done(decodeHealthCheckResponse(Buffer.concat(chunks)) === ServingStatus.SERVING);
        } catch {
          done(false);
        }
      });
      stream.end(request);
    });
}
