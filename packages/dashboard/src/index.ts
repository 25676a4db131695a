export { dashboardAccess } from './access.js';
export { type DashboardOptions, dashboardHandler } from './handler.js';
export { dashboard } from './plugin.js';
export { configHash, ReloadLog, type ReloadView } from './reload-log.js';
export { type RemovedTarget, RemovedTargets } from './removed-targets.js';
export { type RouteRate, routeRates } from './route-rates.js';
export { DASHBOARD_BUILTINS, dashboardPluginSchema } from './schema.js';
export { type DashboardState, dashboardState, type PluginPanels, type RouteView } from './state.js';
export type { OutReason, ServiceView, TargetView } from './targets.js';
