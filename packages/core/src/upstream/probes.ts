import type { ServiceConfig } from '../config/schema.js';
import { grpcHealthCheck } from '../grpc/health-probe.js';
import type { TlsProvider } from '../types.js';
import type { ResolvedHealthCheck } from './active-checks.js';
import { http2Probe, httpProbe, type Probe } from './health-probe.js';
import { speaksHttp2 } from './protocol.js';
import { staticTls } from './tls.js';

/**
 * The active health probe a service's checks use, by what it speaks: the gRPC health protocol when
 * its check says `grpc`, an HTTP/2 GET for HTTP/2 services, else an HTTP/1.1 GET; each with the TLS a
 * plugin provides for the service (a mesh's mTLS, as proxying uses), else the service's own TLS files.
 *
 * @example const { probe, close } = probeFor(service, resolveHealthCheck(service.health, defaults));
 */
export function probeFor(
  service: ServiceConfig,
  check: ResolvedHealthCheck | undefined,
  provider?: TlsProvider,
): { probe: Probe; close(): Promise<void> } {
  const own = staticTls(service.tls);
  const tls = provider ? () => provider.current() ?? own : () => own;
  if (check?.grpc !== undefined) return http2Probe(tls, grpcHealthCheck(check.grpc));
  return speaksHttp2(service) ? http2Probe(tls) : httpProbe(tls);
}
