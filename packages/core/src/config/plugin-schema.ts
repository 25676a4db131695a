import type { z } from 'zod';
import type { BuiltinSpec } from '../builtins/spec.js';
import { CORE_BUILTINS } from '../builtins/table.js';
import { type ErrorSpec, registerErrors } from '../errors.js';
import type { ConfigIssue } from './errors.js';
import {
  buildConfigSchema,
  type GatewayConfig,
  gatewayConfigSchema,
  type RouteConfig,
  routeSchema,
  type ServiceConfig,
  serviceSchema,
} from './schema.js';
import type { ConfigView } from './view.js';

/**
 * What a plugin brings to the config and the error table. Core composes these into the one schema
 * that validates a config, publishes the JSON Schema and the reference docs.
 *
 * @example
 * const schema: PluginSchema = {
 *   name: 'quota',
 *   sections: { quota: z.strictObject({ perDay: z.number().int() }) },
 *   route: { quota: z.number().int().optional() },
 *   errors: { GW_QUOTA_EXCEEDED: { status: 429, title: 'Quota exceeded' } },
 * };
 */
export interface PluginSchema {
  /** Names the plugin in messages about clashes. */
  name: string;
  /** Top-level sections, by key; each is optional in a config (absent: the plugin is not configured). */
  sections?: z.ZodRawShape;
  /** Keys a route may carry for this plugin; each must accept being left out. */
  route?: z.ZodRawShape;
  /** Keys a service may carry for this plugin; each must accept being left out. */
  service?: z.ZodRawShape;
  /** Discovery kinds it serves (`services.<name>.discovery`). */
  discovery?: readonly string[];
  /** Its error codes, added to the one table. */
  errors?: Readonly<Record<string, ErrorSpec>>;
  /** Built-in routes of its own, by name (`builtins.<name>`); the plugin's `builtins(view)` answers them. */
  builtins?: Readonly<Record<string, BuiltinSpec>>;
  /** Checks across settings the schema cannot see alone; runs with core's, in the same pass. */
  check?(view: ConfigView): ConfigIssue[];
  /**
   * What this plugin's options on a route mean to a reader of the API (for documentation, such as
   * the merged OpenAPI document): asked once per route and config. Never secrets.
   */
  describeRoute?(route: RouteConfig): RouteDescription | undefined;
}

/** A plugin's part in a route's documentation. */
export interface RouteDescription {
  /** OpenAPI extension fields (`x-...`) for the route's operations, e.g. `{ 'x-required-claims': {...} }`. */
  extensions?: Readonly<Record<`x-${string}`, unknown>>;
  /** The plugin may refuse an authenticated caller on this route (403). */
  mayForbid?: boolean;
}

/** The composed schemas; what plugins add is typed `unknown` on routes, services and the config. */
export interface ComposedSchema {
  config: z.ZodType<GatewayConfig>;
  route: z.ZodType<RouteConfig>;
  service: z.ZodType<ServiceConfig>;
  /** The plugins' own semantic checks. */
  checks: Array<(view: ConfigView) => ConfigIssue[]>;
  /** Every built-in, core's first, then the plugins' in their order. */
  builtins: ReadonlyMap<string, BuiltinSpec>;
  /** The plugins' parts in a route's documentation. */
  describeRoute(route: RouteConfig): RouteDescription[];
}

const CORE_BUILTIN_MAP: ReadonlyMap<string, BuiltinSpec> = new Map(Object.entries(CORE_BUILTINS));

const CORE = {
  config: gatewayConfigSchema,
  route: routeSchema,
  service: serviceSchema,
  checks: [],
  builtins: CORE_BUILTIN_MAP,
  describeRoute: () => [],
} as unknown as ComposedSchema;

/**
 * Core's schema with what each plugin adds. Two plugins may not claim the same key, nor a key core
 * owns; their error codes are registered here.
 *
 * @example const { config } = composeConfigSchema([quotaSchema, geoFenceSchema]);
 */
export function composeConfigSchema(schemas: readonly PluginSchema[]): ComposedSchema {
  // Two plugins of one package may share a schema (it is composed once).
  const plugins = [...new Set(schemas)];
  if (plugins.length === 0) return CORE;
  const parts = {
    route: {} as Record<string, z.ZodType>,
    service: {} as Record<string, z.ZodType>,
    sections: {} as Record<string, z.ZodType>,
    discovery: [] as string[],
    builtins: {} as Record<string, BuiltinSpec>,
  };
  const owner = new Map<string, string>();
  const claim = (where: string, key: string, taken: readonly string[], plugin: string) => {
    const id = `${where}.${key}`;
    if (taken.includes(key)) throw new Error(`plugin "${plugin}": ${where} key "${key}" belongs to core`);
    const other = owner.get(id);
    if (other !== undefined && other !== plugin) {
      throw new Error(`plugins "${other}" and "${plugin}" both claim the ${where} key "${key}"`);
    }
    owner.set(id, plugin);
  };
  const coreKeys = (s: z.ZodType) => Object.keys((s as unknown as z.ZodObject).shape ?? {});
  for (const p of plugins) {
    for (const [key, schema] of Object.entries(p.sections ?? {})) {
      claim('top-level', key, coreKeys(gatewayConfigSchema), p.name);
      parts.sections[key] = (schema as z.ZodType).optional();
    }
    for (const [key, schema] of Object.entries(p.route ?? {})) {
      claim('route', key, coreKeys(routeSchema), p.name);
      parts.route[key] = schema as z.ZodType;
    }
    for (const [key, schema] of Object.entries(p.service ?? {})) {
      claim('service', key, coreKeys(serviceSchema), p.name);
      parts.service[key] = schema as z.ZodType;
    }
    // A kind may be named twice (a schema declares it, a plugin serves it): it is one kind.
    for (const kind of p.discovery ?? []) {
      if (kind === 'static')
        throw new Error(`plugin "${p.name}": the discovery kind "static" belongs to core`);
      if (!parts.discovery.includes(kind)) parts.discovery.push(kind);
    }
    for (const [name, spec] of Object.entries(p.builtins ?? {})) {
      claim('built-in', name, Object.keys(CORE_BUILTINS), p.name);
      parts.builtins[name] = spec;
    }
    if (p.errors) registerErrors(p.errors);
  }
  const describers = plugins.flatMap((p) => (p.describeRoute ? [p.describeRoute.bind(p)] : []));
  const built = buildConfigSchema(parts) as unknown as Pick<ComposedSchema, 'config' | 'route' | 'service'>;
  return {
    config: built.config,
    route: built.route,
    service: built.service,
    checks: plugins.flatMap((p) => (p.check ? [p.check.bind(p)] : [])),
    builtins: new Map([...CORE_BUILTIN_MAP, ...Object.entries(parts.builtins)]),
    describeRoute: (route) => describers.flatMap((d) => d(route) ?? []),
  };
}
