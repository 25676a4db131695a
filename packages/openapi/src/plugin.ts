import type { ComponentHealth, GatewayPlugin, GatewayView, Handler } from '@lucid/gateway-core';
import { OpenApiCatalog } from './catalog.js';
import { docsHandler } from './docs-page.js';
import { openapiPluginSchema, openapiSettings } from './schema.js';
import { openapiHandler } from './serve.js';
import { catalogSources } from './sources.js';

/** The plugin `openapi()` makes: a gateway plugin, plus the merged document on demand. */
export interface OpenApiPlugin extends GatewayPlugin {
  /**
   * The merged OpenAPI 3.1 document as `/openapi.json` serves it (`servers` from `openapi.publicUrl`,
   * else `/`). `refresh` fetches every service's document first (as does a gateway not started yet).
   */
  document(opts?: { refresh?: boolean }): Promise<Record<string, unknown>>;
  /** The catalog behind the built-ins, once a gateway was built with the plugin. */
  readonly catalog: OpenApiCatalog | undefined;
}

/**
 * The services' OpenAPI documents, fetched through their pools, merged with paths as the gateway
 * serves them and security from its rules, and served at `/openapi.json` (and `.yaml`) and as a page
 * at `/docs`, offline. Its config: the `openapi` section, `services.<name>.openapi`, and
 * `builtins.openapi` / `builtins.docs`.
 *
 * @example
 * const gateway = createGateway(config, { plugins: [jwtAuth(config.auth), openapi(), dashboard()] });
 */
export function openapi(): OpenApiPlugin {
  let view: GatewayView | undefined;
  let catalog: OpenApiCatalog | undefined;
  let configured = false;
  const need = (): { view: GatewayView; catalog: OpenApiCatalog } => {
    if (!view || !catalog) throw new Error('openapi(): build a gateway with this plugin first');
    return { view, catalog };
  };
  return {
    name: 'openapi',
    schema: openapiPluginSchema,
    get catalog() {
      return catalog;
    },
    builtins(gateway): Record<string, Handler> {
      view = gateway;
      const docs = new OpenApiCatalog(gateway.logger);
      catalog = docs;
      gateway.observe({
        // At start and after each reload: the routes changed, so the merge does; documents are fetched again.
        configured: () => {
          configured = true;
          void docs.use(catalogSources(gateway));
        },
        closed: () => docs.stop(),
      });
      return {
        openapi: openapiHandler(docs),
        docs: docsHandler(docs, () => {
          const settings = openapiSettings(gateway.config());
          return {
            base: gateway.mounted('docs') ?? '/docs',
            title: settings.title,
            publicUrl: settings.publicUrl,
          };
        }),
      };
    },
    // Only while services publish documents: a gateway without any shows no `openapi` component.
    async componentHealth(): Promise<Record<string, ComponentHealth>> {
      const health = catalog?.health();
      return health ? { openapi: health } : {};
    },
    async document(opts = {}) {
      const built = need();
      if (opts.refresh || !configured) await built.catalog.use(catalogSources(built.view));
      return JSON.parse(built.catalog.render().json) as Record<string, unknown>;
    },
  };
}
