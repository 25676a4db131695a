export { allowedHosts } from './builtins/allowed-hosts.js';
export { bodyLimit } from './builtins/body-limit.js';
export { cors } from './builtins/cors.js';
export type { BuiltinAccess, BuiltinSpec } from './builtins/spec.js';
export { CORE_BUILTINS, type CoreBuiltinName } from './builtins/table.js';
export * from './config/index.js';
export * from './errors.js';
export { type CreateGatewayOptions, createGateway, METRIC_PREFIX } from './gateway.js';
export { type ClientAddress, clientAddress, compileTrust } from './http/client-address.js';
export { withDetachedResponse } from './http/detached-response.js';
export { type HostPattern, hostMatches, hostNameOf, parseHostPattern } from './http/host-pattern.js';
export type { NormalizedPath } from './http/normalize-path.js';
export { normalizePath } from './http/normalize-path.js';
export { requestIdOf, traceparentOf } from './http/request-id.js';
export {
  captureResponse,
  type ReplacementAnswer,
  type ResponseObserver,
} from './http/response-capture.js';
export { sendJson } from './http/send-json.js';
export type { AuthChallenge, AuthRefusal, Identity } from './identity.js';
export { withDeadline } from './lifecycle/deadline.js';
export { DependencyBreaker, type DependencyBreakerOptions } from './lifecycle/dependency-breaker.js';
export { createLogger, releaseLogger } from './observability/logger.js';
export {
  createMetrics,
  DURATION_BUCKETS,
  type GatewayMetrics,
  REQUEST_DURATION,
  REQUESTS_TOTAL,
} from './observability/metrics.js';
export { quantile } from './observability/quantile.js';
export {
  HISTORY_SLOTS,
  SLOT_MS,
  WINDOW_MS,
  type WindowSeries,
  type WindowSummary,
} from './observability/request-window.js';
export {
  Counter,
  type CounterSeries,
  counterOn,
  Gauge,
  type GaugeSeries,
  gaugeOn,
  Histogram,
  type HistogramSeries,
  histogramOn,
} from './observability/series.js';
export { compose, type Handler } from './pipeline/compose.js';
export * from './plugin.js';
export { addGatewayResponseHeaders } from './proxy/headers.js';
export { HttpProxyEngine } from './proxy/http-proxy-engine.js';
export { Http2Engine, type Http2EngineOptions } from './proxy/http2-engine.js';
export { UndiciEngine } from './proxy/undici-engine.js';
export { WebSocketTunnel } from './proxy/websocket-tunnel.js';
export { isRouteMiss, type RouteMiss, Router } from './routing/router.js';
export type { CertificatePort, CertificateSource, ServerCertificate } from './server/certificate-source.js';
export * from './types.js';
export { type RequestOutcome, type ServiceStatus, targetFromUrl, UpstreamPool } from './upstream/pool.js';
export { speaksHttp2 } from './upstream/protocol.js';
export type { TargetState } from './upstream/target-state.js';
// undici's client parts, loaded file by file (see undici-parts.ts), for packages that fetch through a pool.
export {
  Agent as UndiciAgent,
  type Dispatcher as UndiciDispatcher,
  request as undiciRequest,
} from './upstream/undici-parts.js';
export { VERSION } from './version.js';
