import { gatewayConfigSchema } from '@lucid/gateway-core';
import type { z } from 'zod';
import { pluginSections } from '../plugins.js';

/** Core's schema with the plugins' own schemas for their sections: what a config file may hold. */
export const fullConfigSchema = gatewayConfigSchema.safeExtend(pluginSections);

export type FullConfig = z.output<typeof fullConfigSchema>;
export type FullConfigInput = z.input<typeof fullConfigSchema>;
