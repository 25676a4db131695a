import type { z } from 'zod';
import { coreChecks } from './checks.js';
import { ConfigError, type ConfigIssue, describeIssues } from './errors.js';
import { type ComposedSchema, composeConfigSchema } from './plugin-schema.js';
import type { GatewayConfig, RouteConfig, ServiceConfig } from './schema.js';
import type { ConfigView } from './view.js';

export interface ValidateOptions {
  /** The composed schema (core's alone by default). */
  schema?: ComposedSchema;
  /** What the gateway's plugins provide (`authentication`). */
  provides?: Iterable<string>;
}

export interface Validation {
  /** The parsed config with its defaults; undefined when any error was found. */
  config: GatewayConfig | undefined;
  /** Every problem found, schema and semantic alike, errors and warnings. */
  issues: ConfigIssue[];
}

/**
 * Checks a config in one pass: the schema and the semantic checks (core's and the plugins') on
 * every part that parsed, so a config with six mistakes gets six messages at once.
 *
 * @example const { config, issues } = validateConfig(input, { schema, provides: ['authentication'] });
 */
export function validateConfig(input: unknown, opts: ValidateOptions = {}): Validation {
  const schema = opts.schema ?? composeConfigSchema([]);
  const value = input ?? {};
  const result = schema.config.safeParse(value);
  const issues: ConfigIssue[] = result.success
    ? []
    : describeIssues(schema.config, value, result.error.issues);
  const view = viewOf(schema, value, new Set(opts.provides ?? []));
  if (view) {
    for (const check of [coreChecks, ...schema.checks]) issues.push(...check(view));
  }
  const failed = issues.some((i) => (i.severity ?? 'error') === 'error');
  return { config: result.success && !failed ? (result.data as GatewayConfig) : undefined, issues };
}

/** Validates and fills defaults; throws a `ConfigError` naming every error at once. */
export function parseConfig(input: unknown, opts: ValidateOptions = {}): GatewayConfig {
  const { config, issues } = validateConfig(input, opts);
  if (config === undefined) throw new ConfigError(issues.filter((i) => (i.severity ?? 'error') === 'error'));
  return config;
}

/** What parsed, part by part (see `ConfigView`); undefined when the input is not a mapping at all. */
function viewOf(
  schema: ComposedSchema,
  input: unknown,
  provides: ReadonlySet<string>,
): ConfigView | undefined {
  if (input === null || typeof input !== 'object' || Array.isArray(input)) return undefined;
  const raw = input as Record<string, unknown>;
  const shape = (schema.config as unknown as z.ZodObject).shape;
  const config: Record<string, unknown> = {};
  const invalidSections = new Set<string>();
  for (const [key, part] of Object.entries(shape)) {
    if (key === 'services' || key === 'routes') continue;
    const own = Object.hasOwn(raw, key) ? raw[key] : undefined;
    const parsed = part.safeParse(own);
    if (!parsed.success) invalidSections.add(key);
    config[key] = parsed.success ? parsed.data : part.safeParse(undefined).data;
  }
  const services: Record<string, ServiceConfig> = {};
  const invalidServices = new Set<string>();
  if (raw.services !== null && typeof raw.services === 'object' && !Array.isArray(raw.services)) {
    for (const [name, svc] of Object.entries(raw.services)) {
      const parsed = schema.service.safeParse(svc);
      if (parsed.success && /^[a-zA-Z0-9_.-]+$/.test(name)) services[name] = parsed.data as ServiceConfig;
      else invalidServices.add(name);
    }
  }
  const routes: RouteConfig[] = [];
  const index = new Map<RouteConfig, number>();
  if (Array.isArray(raw.routes)) {
    raw.routes.forEach((r, i) => {
      const parsed = schema.route.safeParse(r);
      if (!parsed.success) return;
      const route = parsed.data as RouteConfig;
      routes.push(route);
      index.set(route, i);
    });
  }
  config.services = services;
  config.routes = routes;
  return {
    config: config as GatewayConfig,
    routePath: (route) => `routes[${index.get(route) ?? '?'}]`,
    invalidServices,
    invalidSections,
    provides,
  };
}
