import type { Handler } from '../pipeline/compose.js';
import type { GatewayView } from '../plugin.js';
import { healthHandler } from './health.js';
import { metricsHandler } from './metrics.js';
import { rootHandler } from './root.js';
import type { CoreBuiltinName } from './table.js';

const DEFAULT_DOCS = 'https://github.com/lucid-gateway/lucid-gateway#readme';

/** The handlers of core's own built-ins, built once per gateway over its read-only view. */
export function coreBuiltinHandlers(view: GatewayView): Record<CoreBuiltinName, Handler> {
  return {
    root: rootHandler({
      name: view.name,
      version: view.version,
      docs: () => view.reference() ?? DEFAULT_DOCS,
      prefixes: () => view.routes().flatMap((r) => (r.kind === 'proxy' ? [r.config.prefix] : [])),
    }),
    health: healthHandler({
      name: view.name,
      version: view.version,
      services: view.services,
      components: view.components,
      ready: view.ready,
      waiting: view.waiting,
    }),
    metrics: metricsHandler(view.registry),
  };
}

/**
 * What the public port answers instead, once `server.admin` serves the built-ins in full: the
 * health report as a status alone.
 */
export function corePublicHandlers(view: GatewayView): Partial<Record<CoreBuiltinName, Handler>> {
  return {
    health: healthHandler({
      name: view.name,
      version: view.version,
      services: view.services,
      components: view.components,
      ready: view.ready,
      waiting: view.waiting,
      summary: true,
    }),
  };
}
