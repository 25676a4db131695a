import type { Registry } from 'prom-client';
import type { z } from 'zod';
import type { Handler } from '../pipeline/compose.js';
import type { ComponentHealth } from '../types.js';
import { healthHandler } from './health.js';
import { metricsHandler } from './metrics.js';
import { rootHandler } from './root.js';

/** What the gateway lends its built-in routes; each takes what it needs. */
export interface BuiltinDeps {
  name: string;
  version: string;
  registry: Registry;
  /** The proxy routes' prefixes of the config in use (asked per request, so a reload shows at once). */
  proxyPrefixes(): string[];
  /** Each service's state from its pool's cached checks. */
  services(): Record<string, boolean>;
  /** Plugins' and discovery's own health. */
  components(): Promise<Record<string, ComponentHealth>>;
  /** False while starting or draining. */
  ready(): boolean;
}

export interface BuiltinSpec {
  /** Where it is mounted unless `builtins.<name>.path` says otherwise. */
  path: string;
  /** Settings of its own under `builtins.<name>`, beside `path`, `auth` and `scopes` (each with a default). */
  options?: z.ZodRawShape;
  /** Match the path itself only, not paths below it (the root `/`). */
  exact: boolean;
  /** Built once per gateway. */
  handler(deps: BuiltinDeps): Handler;
}

/**
 * The gateway's own routes. One entry here is a built-in: its `builtins.<name>` config (path,
 * auth, scopes and its own `options`; `false` turns it off), its route (GET and HEAD, behind the
 * normal route chain) and its handler all follow from it.
 */
export const BUILTINS = {
  root: {
    path: '/',
    exact: true,
    handler: (d) =>
      rootHandler({
        name: d.name,
        version: d.version,
        docs: 'https://github.com/lucid-gateway/lucid-gateway#readme',
        prefixes: d.proxyPrefixes,
      }),
  },
  health: {
    path: '/health',
    exact: false,
    handler: (d) =>
      healthHandler({
        name: d.name,
        version: d.version,
        services: d.services,
        components: d.components,
        ready: d.ready,
      }),
  },
  metrics: { path: '/metrics', exact: false, handler: (d) => metricsHandler(d.registry) },
} as const satisfies Record<string, BuiltinSpec>;

export type BuiltinName = keyof typeof BUILTINS;
export const BUILTIN_NAMES = Object.keys(BUILTINS) as BuiltinName[];
