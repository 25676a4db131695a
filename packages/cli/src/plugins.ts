import type { GatewayPlugin } from '@lucid/gateway-core';
import { z } from 'zod';
import type { FullConfig } from './config/schema.js';

/**
 * The one place where config meets plugins. Each plugin package owns its config section's
 * schema; the CLI swaps them into core's schema in place of its pass-through sections.
 */
export const pluginSections = {
  // Pass-through until each plugin's schema is wired in.
  auth: z.unknown().optional(),
  rateLimit: z.unknown().optional(),
  mesh: z.unknown().optional(),
};

/**
 * Builds the plugins a config asks for (the gateway orders them by `plugin.order`).
 *
 * @example const gateway = createGateway(input, { plugins: buildPlugins(config) })
 */
export function buildPlugins(_config: FullConfig): GatewayPlugin[] {
  return [];
}
