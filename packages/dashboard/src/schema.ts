import { authPolicy, type BuiltinSpec, duration, type PluginSchema, pathPrefix } from '@lucid/gateway-core';
import { z } from 'zod';
import { dashboardAccess } from './access.js';

/** The refresh a page polls at when `builtins.ui.refresh` is not set (ms). */
export const DEFAULT_REFRESH_MS = 2_000;

/**
 * The dashboard as a built-in, `builtins.ui`: off unless turned on. `auth` and `scopes` left out
 * mean: where a plugin provides authentication, a token with the `admin` scope; else public.
 */
export const DASHBOARD_BUILTINS = {
  ui: {
    path: '/ui',
    exact: false,
    optIn: true,
    admin: true,
    options: {
      path: pathPrefix
        .refine((p) => p !== '/', { message: 'the dashboard needs a path of its own, like "/ui"' })
        .default('/ui'),
      auth: authPolicy.optional(),
      scopes: z.array(z.string()).optional(),
      /** How often the page polls its state. */
      refresh: duration
        .refine((ms) => ms >= 250, { message: 'at least "250ms" (the page polls this often)' })
        .default(DEFAULT_REFRESH_MS),
    },
    access: (settings, provides) =>
      dashboardAccess(settings as { auth?: 'required' | 'public'; scopes?: string[] }, provides),
  },
} as const satisfies Readonly<Record<string, BuiltinSpec>>;

/** What the package adds to the config: the `builtins.ui` built-in. */
export const dashboardPluginSchema: PluginSchema = {
  name: 'dashboard',
  builtins: DASHBOARD_BUILTINS,
};
