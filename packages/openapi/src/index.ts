export { type CatalogSources, OpenApiCatalog, type RenderedDocument } from './catalog.js';
export { docsHandler } from './docs-page.js';
export { DocumentError, type OpenApiDoc, parseOpenApi } from './document.js';
export { BEARER_SCHEME, gatewayPath, toGatewayPaths } from './gateway-paths.js';
export { type MergeResultDoc, mergeServices, type ServiceDocument } from './merge.js';
export { type OpenApiPlugin, openapi } from './plugin.js';
export {
  OPENAPI_BUILTINS,
  type OpenApiConfig,
  type OpenApiSource,
  openapiPluginSchema,
  openapiSection,
  openapiSettings,
  openapiSource,
} from './schema.js';
export { openapiHandler, sendOpenApi } from './serve.js';
export { catalogSources } from './sources.js';
export * from './validation/index.js';
