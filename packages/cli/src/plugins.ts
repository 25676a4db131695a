import type { GatewayPlugin } from '@lucid/gateway-core';
import { consulMesh, meshConfigSchema } from '@lucid/mesh-consul';
import { authConfigSchema, jwtAuth, signDevToken } from '@lucid/middleware-auth';
import { z } from 'zod';

/**
 * The one place where config meets plugins. Each plugin package owns its config section's
 * schema; the CLI swaps them into core's schema in place of its pass-through sections.
 */
export const pluginSections = {
  auth: authConfigSchema.optional(),
  // Pass-through until the rate limiter's schema is wired in.
  rateLimit: z.unknown().optional(),
  mesh: meshConfigSchema.optional(),
};

/**
 * Builds the plugins a config asks for, from its sections as written (each factory checks its
 * own options); the gateway orders them by `plugin.order`.
 *
 * @example const gateway = createGateway(input, { plugins: buildPlugins(input) })
 */
export function buildPlugins(input: Record<string, unknown>): GatewayPlugin[] {
  const plugins: GatewayPlugin[] = [];
  if (input.auth !== undefined) plugins.push(jwtAuth(input.auth as Parameters<typeof jwtAuth>[0]));
  if (input.mesh !== undefined) plugins.push(consulMesh(input.mesh as Parameters<typeof consulMesh>[0]));
  return plugins;
}

/** The sections whose changes only a restart applies (plugins are built once per process). */
export const PLUGIN_SECTIONS = ['auth', 'rateLimit', 'mesh'] as const;

export { signDevToken };
