import type { GatewayPlugin } from '@lucid/gateway-core';
import { consulMesh, meshConfigSchema } from '@lucid/mesh-consul';
import { authConfigSchema, jwtAuth, signDevToken } from '@lucid/middleware-auth';
import { rateLimitConfigSchema, rateLimitPlugins } from '@lucid/middleware-ratelimit';

/**
 * The one place where config meets plugins. Each plugin package owns its config section's
 * schema; the CLI swaps them into core's schema in place of its pass-through sections.
 */
export const pluginSections = {
  auth: authConfigSchema.optional(),
  rateLimit: rateLimitConfigSchema.optional(),
  mesh: meshConfigSchema.optional(),
};

/**
 * Builds the plugins a config asks for, from its sections as written (each factory checks its
 * own options); the gateway orders them by `plugin.order`.
 *
 * @example const gateway = createGateway(input, { plugins: buildPlugins(input) })
 */
export function buildPlugins(
  input: Record<string, unknown>,
  opts: {
    /** False in all but one `--workers` process: they share one port, so one Consul registration. */
    register?: boolean;
  } = {},
): GatewayPlugin[] {
  const plugins: GatewayPlugin[] = [];
  if (input.auth !== undefined) plugins.push(jwtAuth(input.auth as Parameters<typeof jwtAuth>[0]));
  if (input.rateLimit !== undefined) {
    // The pre-auth limiter (when `preAuth` is set) comes with it, ordered before authentication.
    plugins.push(...rateLimitPlugins(input.rateLimit as Parameters<typeof rateLimitPlugins>[0]));
  }
  if (input.mesh !== undefined) {
    let mesh = input.mesh as Parameters<typeof consulMesh>[0];
    if (opts.register === false && mesh?.consul?.register) {
      const { register: _, ...consul } = mesh.consul;
      mesh = { ...mesh, consul };
    }
    plugins.push(consulMesh(mesh));
  }
  return plugins;
}

/** The sections whose changes only a restart applies (plugins are built once per process). */
export const PLUGIN_SECTIONS = ['auth', 'rateLimit', 'mesh'] as const;

export { signDevToken };
