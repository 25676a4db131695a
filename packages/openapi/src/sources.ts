import type { GatewayConfig } from '../config/schema.js';
import type { Router } from '../routing/router.js';
import type { GatewayPlugin, Route } from '../types.js';
import type { UpstreamPool } from '../upstream/pool.js';
import { staticTls } from '../upstream/tls.js';
import type { CatalogSources } from './catalog.js';

/**
 * The catalog's view of one built config: its routes, router and pools, and each service's TLS
 * as its traffic has it (a plugin's, such as a service mesh's, before the service's own files).
 */
export function catalogSources(
  built: {
    config: GatewayConfig;
    routes: readonly Route[];
    router: Router;
    pools: ReadonlyMap<string, UpstreamPool>;
  },
  plugins: readonly GatewayPlugin[],
): CatalogSources {
  return {
    config: built.config,
    routes: built.routes,
    router: built.router,
    pools: built.pools,
    tls(service) {
      const cfg = built.config.services[service];
      if (!cfg) return undefined;
      for (const plugin of plugins) {
        const current = plugin.upstreamTls?.(service, cfg)?.current();
        if (current) return current;
      }
      return staticTls(cfg.tls);
    },
  };
}
