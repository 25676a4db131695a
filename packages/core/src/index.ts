export { allowedHosts } from './builtins/allowed-hosts.js';
export { bodyLimit } from './builtins/body-limit.js';
export { cors } from './builtins/cors.js';
export { BUILTINS, type BuiltinDeps, type BuiltinName, type BuiltinSpec } from './builtins/table.js';
export * from './config/index.js';
export type { ReloadView } from './dashboard/reload-log.js';
export type { DashboardState, RouteView } from './dashboard/state.js';
export type { ServiceView, TargetView } from './dashboard/targets.js';
export * from './errors.js';
export { type CreateGatewayOptions, createGateway, METRIC_PREFIX } from './gateway.js';
export { type ClientAddress, clientAddress, compileTrust } from './http/client-address.js';
export { type HostPattern, hostMatches, hostNameOf, parseHostPattern } from './http/host-pattern.js';
export type { NormalizedPath } from './http/normalize-path.js';
export { normalizePath } from './http/normalize-path.js';
export { requestIdOf, traceparentOf } from './http/request-id.js';
export { sendJson } from './http/send-json.js';
export type { AuthChallenge, AuthRefusal, Identity } from './identity.js';
export { createLogger } from './observability/logger.js';
export { createMetrics, type GatewayMetrics } from './observability/metrics.js';
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
export { HttpProxyEngine } from './proxy/http-proxy-engine.js';
export { Http2Engine, type Http2EngineOptions } from './proxy/http2-engine.js';
export { UndiciEngine } from './proxy/undici-engine.js';
export { WebSocketTunnel } from './proxy/websocket-tunnel.js';
export { isRouteMiss, type RouteMiss, Router } from './routing/router.js';
export * from './types.js';
export { targetFromUrl, UpstreamPool } from './upstream/pool.js';
export { VERSION } from './version.js';
