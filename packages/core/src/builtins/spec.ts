import type { z } from 'zod';

/** Who may call a built-in when its config leaves `auth` and `scopes` out. */
export interface BuiltinAccess {
  auth: 'required' | 'public';
  scopes: string[];
}

/**
 * A built-in route as config sees it: core's own (`/`, `/health`, `/metrics`) and any a plugin's
 * schema declares (`schema.builtins`) are composed into `builtins.<name>`, validated, documented and
 * mounted the same way, behind the same route chain. The plugin's `builtins(view)` gives the handler.
 *
 * @example
 * const purge: BuiltinSpec = { path: '/cache', exact: false, optIn: true, access: () => ({ auth: 'required', scopes: ['admin'] }) };
 */
export interface BuiltinSpec {
  /** Where it is mounted unless `builtins.<name>.path` says otherwise. */
  path: string;
  /** Settings of its own under `builtins.<name>`, beside `path`, `auth` and `scopes` (each with a default). */
  options?: z.ZodRawShape;
  /** Off unless the config turns it on (`true` or an object); others are on unless `false`. */
  optIn?: boolean;
  /** Match the path itself only, not paths below it (the root `/`, the OpenAPI document). */
  exact: boolean;
  /** The methods it answers (default GET and HEAD); others get 405. A purge endpoint says `['DELETE']`. */
  methods?: readonly string[];
  /** More paths served by the same handler, derived from the configured one. */
  twins?(path: string): string[];
  /** Who may call it when its config leaves `auth`/`scopes` out, given what the plugins provide. */
  access?(settings: Record<string, unknown>, provides: ReadonlySet<string>): BuiltinAccess;
  /** An API reference: the root built-in's `docs` link points here while it is on. */
  reference?: boolean;
  /**
   * For operators (metrics, a dashboard, cache purges): once `server.admin` is set, served on the
   * admin listener only, never on the public port.
   */
  admin?: boolean;
}
