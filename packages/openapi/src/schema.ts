import { type BuiltinSpec, duration, type PluginSchema, type RouteConfig, size } from '@lucid/gateway-core';
import { z } from 'zod';

/** Where a service's OpenAPI document lives: a path on its targets, or a local file (JSON or YAML). */
export const openapiSource = z.union([
  z
    .string()
    .startsWith('/', { message: 'a path on the service, like "/openapi.json" (or { file: ./auth.yaml })' })
    .transform((path): { path: string } | { file: string } => ({ path })),
  z
    .strictObject({
      /** A path on the service's targets, fetched through its pool. */
      path: z.string().startsWith('/').optional(),
      /** A local JSON or YAML file (relative to the working folder). */
      file: z.string().min(1).optional(),
    })
    .transform((v, ctx): { path: string } | { file: string } => {
      if ((v.path === undefined) === (v.file === undefined)) {
        ctx.addIssue({ code: 'custom', message: 'give either "path" or "file", not both' });
        return z.NEVER;
      }
      return v.file !== undefined ? { file: v.file } : { path: v.path! };
    }),
]);

/** How the services' OpenAPI documents are fetched and merged (served by builtins.openapi and builtins.docs). */
export const openapiSection = z.strictObject({
  /** How often each service's document is fetched again (it is also fetched at start and on reload). */
  refresh: duration.default(300_000),
  /** Time allowed for one document's fetch, headers and body. */
  timeout: duration.default(10_000),
  /** Largest document accepted; a bigger one counts as a failed fetch. */
  maxSize: size.default(5 * 1024 ** 2),
  /** The gateway's public origin for `servers` (default: the origin the client used, from trusted headers). */
  publicUrl: z.url({ protocol: /^https?$/, message: 'expected an http:// or https:// URL' }).optional(),
  title: z.string().default('Lucid API'),
  version: z.string().default('1.0.0'),
});

export type OpenApiConfig = z.output<typeof openapiSection>;
export type OpenApiSource = z.output<typeof openapiSource>;

/** `/openapi.json` -> `/openapi.yaml`; any other path gets `.yaml` appended. */
function yamlTwin(path: string): string {
  return path.endsWith('.json') ? `${path.slice(0, -'.json'.length)}.yaml` : `${path}.yaml`;
}

/** The built-ins this package brings: the merged document (and its YAML twin), and the page over it. */
export const OPENAPI_BUILTINS = {
  /** The services' OpenAPI documents merged into one, as JSON and (its twin) as YAML. */
  openapi: { path: '/openapi.json', exact: true, twins: (path: string) => [yamlTwin(path)] },
  /** A page that renders the merged document (the root built-in's `docs` link points here). */
  docs: { path: '/docs', exact: false, reference: true },
} as const satisfies Readonly<Record<string, BuiltinSpec>>;

/** The `openapi` section with its defaults, whether the config has one or not. */
export function openapiSettings(config: { readonly [key: string]: unknown }): OpenApiConfig {
  return (config.openapi as OpenApiConfig | undefined) ?? openapiSection.parse({});
}

/** What a service's `openapi` option says, typed (core keeps plugin options untyped). */
export function serviceSource(service: { readonly [key: string]: unknown }): OpenApiSource | undefined {
  return service.openapi as OpenApiSource | undefined;
}

/**
 * What the package adds to the config: the `openapi` section, `services.<name>.openapi`, and the
 * `builtins.openapi` and `builtins.docs` built-ins.
 */
export const openapiPluginSchema: PluginSchema = {
  name: 'openapi',
  sections: { openapi: openapiSection.default(openapiSection.parse({})) },
  service: {
    /** Where this service's OpenAPI document comes from (merged behind builtins.openapi and builtins.docs). */
    openapi: openapiSource.optional(),
  },
  builtins: OPENAPI_BUILTINS,
};

export type { RouteConfig };

// The `openapi` section and a service's `openapi` source, in the config's type once this package is imported.
declare module '@lucid/gateway-core' {
  interface GatewayConfigExtensions {
    /** How the services' OpenAPI documents are fetched and merged (`@lucid/openapi`). */
    openapi?: z.input<typeof openapiSection>;
  }
  interface ServiceOptionsExtensions {
    /** Where this service's OpenAPI document comes from: a path on the service, or `{ file }` (`@lucid/openapi`). */
    openapi?: z.input<typeof openapiSource>;
  }
}
