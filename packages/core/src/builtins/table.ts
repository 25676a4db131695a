import type { BuiltinSpec } from './spec.js';

/**
 * Core's own built-ins, what every gateway has. One entry here is a built-in: its `builtins.<name>`
 * config (path, auth, scopes and its own `options`; `false` turns it off) and its route (GET and
 * HEAD, behind the normal route chain) follow from it; `coreBuiltinHandlers` answers them. Plugins
 * add theirs through `schema.builtins`, composed after these.
 */
export const CORE_BUILTINS = {
  root: { path: '/', exact: true },
  health: { path: '/health', exact: false },
  metrics: { path: '/metrics', exact: false, admin: true },
} as const satisfies Readonly<Record<string, BuiltinSpec>>;

export type CoreBuiltinName = keyof typeof CORE_BUILTINS;
