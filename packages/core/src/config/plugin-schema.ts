import type { z } from 'zod';
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
  /** Checks across settings the schema cannot see alone; runs with core's, in the same pass. */
  check?(view: ConfigView): ConfigIssue[];
}

/** The composed schemas; what plugins add is typed `unknown` on routes, services and the config. */
export interface ComposedSchema {
  config: z.ZodType<GatewayConfig>;
  route: z.ZodType<RouteConfig>;
  service: z.ZodType<ServiceConfig>;
  /** The plugins' own semantic checks. */
  checks: Array<(view: ConfigView) => ConfigIssue[]>;
}

const CORE = {
  config: gatewayConfigSchema,
  route: routeSchema,
  service: serviceSchema,
  checks: [],
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
    if (p.errors) registerErrors(p.errors);
  }
  const built = buildConfigSchema(parts) as unknown as Pick<ComposedSchema, 'config' | 'route' | 'service'>;
  return {
    config: built.config,
    route: built.route,
    service: built.service,
    checks: plugins.flatMap((p) => (p.check ? [p.check.bind(p)] : [])),
  };
}
