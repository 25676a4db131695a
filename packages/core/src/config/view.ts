import type { GatewayConfig, RouteConfig } from './schema.js';

/**
 * A config as the semantic checks see it, even when parts of it failed the schema: what parsed is
 * there with its defaults, what did not is left out (a route, a section) or at its default (a core
 * setting), so every check runs in the same pass as the schema and reports what it can.
 */
export interface ConfigView {
  readonly config: GatewayConfig;
  /** Where a route of `config.routes` is written in the file: `routes[3]`. */
  routePath(route: RouteConfig): string;
  /** Services that are written but failed the schema: known by name, not checked further. */
  readonly invalidServices: ReadonlySet<string>;
  /** Top-level sections that are written but failed the schema (left out of `config`). */
  readonly invalidSections: ReadonlySet<string>;
  /** What the gateway's plugins provide: `authentication`, `discovery:<kind>` for a discovery plugin. */
  readonly provides: ReadonlySet<string>;
}
