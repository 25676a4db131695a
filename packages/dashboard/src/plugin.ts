import type { GatewayPlugin, GatewayView, Handler } from '@lucid/gateway-core';
import { dashboardHandler } from './handler.js';
import { ReloadLog } from './reload-log.js';
import { RemovedTargets } from './removed-targets.js';
import { RouteHistory } from './route-history.js';
import { DEFAULT_REFRESH_MS, dashboardPluginSchema } from './schema.js';

/**
 * The read-only dashboard at `builtins.ui.path` (`/ui`, off unless `builtins.ui` turns it on): routes
 * with their rates, services and targets with why each is in or out of rotation, components, the
 * config in force and the last reload. It reads the gateway's view and follows its events.
 *
 * @example
 * const gateway = createGateway({ ...config, builtins: { ui: true } }, { plugins: [dashboard()] });
 */
export function dashboard(): GatewayPlugin {
  let history: RouteHistory | undefined;
  return {
    name: 'dashboard',
    schema: dashboardPluginSchema,
    // The charts' history is sampled from start on, while the dashboard is configured.
    async start(gateway) {
      if (gateway.config.builtins.ui) history?.start();
    },
    async close() {
      history?.stop();
    },
    builtins(view: GatewayView): Record<string, Handler> {
      history = new RouteHistory(view.registry, view.metricPrefix);
      let reloads: ReloadLog | undefined;
      let configured = false;
      // The config in force when first asked (at start, or at the first read before it).
      const log = () => {
        reloads ??= new ReloadLog(view.config());
        return reloads;
      };
      const removed = new RemovedTargets();
      view.observe({
        configured(config) {
          if (configured) log().succeeded(config);
          else log();
          configured = true;
        },
        reloadFailed: (reason) => log().failed(reason),
        targetsRemoved: (service, targets, at) => removed.add(service, targets, at),
      });
      return {
        ui: dashboardHandler({
          name: view.name,
          version: view.version,
          ready: view.ready,
          routes: view.routes,
          pools: () => view.pools().values(),
          components: view.components,
          plugins: view.plugins,
          reloads: { view: () => log().view() },
          removed,
          registry: view.registry,
          history,
          metricPrefix: view.metricPrefix,
          refreshMs: () => {
            const ui = view.config().builtins.ui;
            return ui ? (ui as typeof ui & { refresh: number }).refresh : DEFAULT_REFRESH_MS;
          },
        }),
      };
    },
  };
}
