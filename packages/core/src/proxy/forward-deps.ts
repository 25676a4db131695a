import type { GatewayMetrics } from '../observability/metrics.js';
import type { ProxyEngine, TlsProvider } from '../types.js';
import type { UpstreamPool } from '../upstream/pool.js';
import type { BodyBudget } from './body-buffer.js';

/** What a route's proxy step is built with: its pool, its engine and where it reports. */
export interface ForwardDeps {
  pool: UpstreamPool;
  engine: ProxyEngine;
  metrics: GatewayMetrics;
  /** TLS from a plugin (e.g. a service mesh's mTLS); takes precedence over the service's own `tls` files. */
  tlsProvider: TlsProvider | undefined;
  /** How much of a streamed gRPC body may be kept for a resend, and the budget it is taken from (unset: none). */
  replay?: { max: number; budget: BodyBudget };
}
