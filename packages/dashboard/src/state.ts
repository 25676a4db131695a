import {
  type ComponentHealth,
  type GatewayPlugin,
  type GatewayView,
  type Route,
  SLOT_MS,
  type UpstreamPool,
  WINDOW_MS,
} from '@lucid/gateway-core';
import type { ReloadLog, ReloadView } from './reload-log.js';
import type { RemovedTargets } from './removed-targets.js';
import { type HistoryView, type RouteHistory, targetHistory } from './route-history.js';
import { RATE_WINDOW_MS, type RouteRate, routeRates } from './route-rates.js';
import { describeService, type ServiceView } from './targets.js';

/** Counters a plugin shows, by name: `{ rejectedByTier: { free: 3, premium: 0 } }`. */
export type PluginPanels = Record<string, Record<string, number>>;

export interface RouteView extends RouteRate {
  id: string;
  prefix: string;
  /** The Host pattern it matches, `*` for any. */
  host: string;
  methods: string[];
  service: string;
  auth: 'public' | 'required';
  scopes: string[];
  /** Plugins' columns (see `routeColumns`), by key. */
  [column: string]: unknown;
}

/** The document behind the dashboard (`<path>/state.json`); docs/dashboard.md describes it. */
export interface DashboardState {
  gateway: { name: string; version: string; ready: boolean; now: string };
  windows: { routesSeconds: number; targetsSeconds: number };
  config: ReloadView;
  routes: RouteView[];
  /** The columns plugins add to the routes table, in order: each route carries `[key]`. */
  routeColumns: Array<{ key: string; label: string }>;
  services: ServiceView[];
  components: Record<string, ComponentHealth>;
  plugins: Record<string, PluginPanels>;
  /** The last fifteen minutes per route and per target, slot by slot, for the charts. */
  history: HistoryView;
}

export interface DashboardSources {
  name: string;
  version: string;
  ready(): boolean;
  /** The routes and pools of the config in force (asked per read, so a reload shows at once). */
  routes(): readonly Route[];
  pools(): Iterable<UpstreamPool>;
  /** The same component reports /health shows (the plugins' stores, key sets, registries, ...). */
  components(): Promise<Record<string, ComponentHealth>>;
  plugins: readonly GatewayPlugin[];
  reloads: Pick<ReloadLog, 'view'>;
  /** Targets discovery removed lately (kept from the pools' events). */
  removed: RemovedTargets;
  /** The gateway's metrics registry and prefix: per-route rates are read from its request series. */
  registry: GatewayView['registry'];
  metricPrefix: string;
  /** Routes' totals sampled every slot (started with the gateway while the dashboard is on). */
  history: RouteHistory;
}

const NO_RATE: RouteRate = {
  requestsPerSecond: null,
  errorRate: null,
  clientErrorRate: null,
  p50Ms: null,
  p99Ms: null,
};

/** `user:pass@` in a URL is a credential: it never reaches the page. */
function scrub(value: unknown, depth = 0): unknown {
  if (typeof value === 'string') return value.replace(/\/\/[^/@\s]*@/g, '//');
  if (depth > 6 || value === null || typeof value !== 'object') return value;
  if (Array.isArray(value)) return value.map((v) => scrub(v, depth + 1));
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) out[k] = scrub(v, depth + 1);
  return out;
}

async function pluginPanels(plugins: readonly GatewayPlugin[]): Promise<Record<string, PluginPanels>> {
  const out: Record<string, PluginPanels> = {};
  await Promise.all(
    plugins.map(async (p) => {
      if (!p.dashboard) return;
      try {
        out[p.name] = await p.dashboard();
      } catch {
        out[p.name] = {};
      }
    }),
  );
  return out;
}

/**
 * Reads what the gateway is doing, as one JSON-ready document: routes with their rates, services
 * and targets with why each is in or out of rotation, components, the config in force and plugins'
 * counters. Only ids, states and numbers: no secrets, no tokens, no client addresses.
 *
 * @example
 * const read = dashboardState(sources);
 * const state = await read(); // { gateway, windows, config, routes, services, components, plugins }
 */
export function dashboardState(src: DashboardSources): () => Promise<DashboardState> {
  const rates = routeRates(src.registry, src.metricPrefix);
  // Readers at the same moment share one read: many open pages cost one round of health checks.
  let reading: Promise<DashboardState> | undefined;
  return () => {
    reading ??= readState(src, rates, Date.now()).finally(() => {
      reading = undefined;
    });
    return reading;
  };
}

async function readState(
  src: DashboardSources,
  rateReader: ReturnType<typeof routeRates>,
  now: number,
): Promise<DashboardState> {
  const [rates, components, plugins, routeHistory] = await Promise.all([
    rateReader.read(now),
    src.components(),
    pluginPanels(src.plugins),
    src.history.read(now),
  ]);
  const routes: RouteView[] = [];
  const columns = new Map<string, string>();
  for (const route of src.routes()) {
    if (route.kind !== 'proxy') continue;
    const c = route.config;
    const extra: Record<string, unknown> = {};
    for (const plugin of src.plugins) {
      for (const [key, col] of Object.entries(plugin.dashboardRoute?.(route) ?? {})) {
        columns.set(key, col.label);
        extra[key] = col.value;
      }
    }
    routes.push({
      ...extra,
      id: route.id,
      prefix: c.prefix,
      host: c.host ?? '*',
      methods: c.methods ?? ['*'],
      service: route.serviceName ?? '',
      auth: c.auth,
      scopes: c.scopes,
      ...(rates.get(route.id) ?? NO_RATE),
    });
  }
  return {
    gateway: { name: src.name, version: src.version, ready: src.ready(), now: new Date(now).toISOString() },
    windows: { routesSeconds: RATE_WINDOW_MS / 1000, targetsSeconds: WINDOW_MS / 1000 },
    config: src.reloads.view(),
    routes,
    routeColumns: [...columns].map(([key, label]) => ({ key, label })),
    services: [...src.pools()].map((pool) => describeService(pool, src.removed, now)),
    components: scrub(components) as Record<string, ComponentHealth>,
    plugins,
    history: {
      slotSeconds: SLOT_MS / 1000,
      start: routeHistory.start,
      // The proxy routes the table lists (the page's own polling is no traffic worth a line).
      routes: Object.fromEntries(
        routes.flatMap((r) => (routeHistory.routes[r.id] ? [[r.id, routeHistory.routes[r.id]!]] : [])),
      ),
      targets: targetHistory(src.pools()),
    },
  };
}
