import type { GatewayView, Route, RouteDescription } from '@lucid/gateway-core';
import type { CatalogSources } from './catalog.js';

/**
 * The catalog's view of the config in force: its routes, router and pools, each service's TLS as
 * its traffic has it, and what the plugins' options on a route mean (each plugin describes its own).
 */
export function catalogSources(view: GatewayView): CatalogSources {
  const described = new Map<Route, RouteDescription[]>();
  const describers = view.plugins.flatMap((p) => {
    const describe = p.schema?.describeRoute;
    return describe ? [describe.bind(p.schema)] : [];
  });
  return {
    config: view.config(),
    routes: view.routes(),
    router: view.router(),
    pools: view.pools(),
    tls: (service) => view.tls(service),
    describe(route) {
      let out = described.get(route);
      if (!out) {
        out = describers.flatMap((d) => d(route.config) ?? []);
        described.set(route, out);
      }
      return out;
    },
  };
}
