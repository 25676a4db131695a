import type { GatewayConfig, GatewayConfigInput } from '@lucid/gateway-core';
import type { MeshConfig, MeshConfigInput } from '@lucid/mesh-consul';
import type { AuthOptions, AuthOptionsInput } from '@lucid/middleware-auth';
import type { RateLimitConfig, RateLimitConfigInput } from '@lucid/middleware-ratelimit';
import type { TracingConfig, TracingConfigInput } from '@lucid/tracing';
import type { z } from 'zod';
import { cliSchema } from '../plugins.js';

/** A config file's contents: core's settings and the sections of the plugins the CLI wires. */
export type FullConfig = GatewayConfig & {
  auth?: AuthOptions;
  rateLimit?: RateLimitConfig;
  mesh?: MeshConfig;
  tracing?: TracingConfig;
};
export type FullConfigInput = GatewayConfigInput & {
  auth?: AuthOptionsInput;
  rateLimit?: RateLimitConfigInput;
  mesh?: MeshConfigInput;
  tracing?: TracingConfigInput;
};

/** Core's schema with the plugins' own parts: what a config file may hold. */
export const fullConfigSchema = cliSchema.config as z.ZodType<FullConfig, FullConfigInput>;
