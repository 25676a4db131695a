import type { Http2Check } from '../upstream/health-probe.js';
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
 * The gRPC health check (grpc.health.v1.Health/Check) as one exchange of `http2Probe`, which owns
 * the session, the timeout and the abort: healthy when the target answers SERVING with grpc-status
 * 0. `service` '' asks about the server as a whole.
 *
 * @example
 * const { probe } = http2Probe(tls, grpcHealthCheck('lucid.Echo'));
 */
export function grpcHealthCheck(service: string): Http2Check {
  const request = encodeHealthCheckRequest(service);
  return (session, _url, timeoutMs) =>
    new Promise<boolean>((resolve, reject) => {
      const stream = session.request({
        ':method': 'POST',
        ':path': HEALTH_CHECK_PATH,
        'content-type': 'application/grpc',
        te: 'trailers',
        'grpc-timeout': `${Math.max(1, Math.floor(timeoutMs))}m`,
      });
      const chunks: Buffer[] = [];
      let size = 0;
      let grpcStatus: number | undefined;
      const unhealthy = () => {
        resolve(false);
        stream.close();
      };
      stream.once('error', reject);
      stream.on('response', (headers) => {
        // A trailers-only answer carries its status in the headers.
        if (headers['grpc-status'] !== undefined) grpcStatus = parseGrpcStatus(headers['grpc-status']);
        if (headers[':status'] !== 200) unhealthy();
      });
      stream.on('trailers', (trailers) => {
        grpcStatus = parseGrpcStatus(trailers['grpc-status']);
      });
      stream.on('data', (chunk: Buffer) => {
        size += chunk.length;
        if (size > MAX_ANSWER) unhealthy();
        else chunks.push(chunk);
      });
      stream.on('end', () => {
        if (grpcStatus !== 0) return resolve(false);
        try {
          resolve(decodeHealthCheckResponse(Buffer.concat(chunks)) === ServingStatus.SERVING);
        } catch {
          resolve(false);
        }
      });
      // Reset or cut before its end: not healthy (a no-op once resolved).
      stream.once('close', () => resolve(false));
      stream.end(request);
    });
}
