import { parseWith } from '@lucid/gateway-core';
import { z } from 'zod';
import { type ConsulConfig, type MeshConfigInput, meshConfigSchema } from './schema.js';

// Parsed under `mesh`, so errors name the path as written in the config file.
const wrapped = z.strictObject({ mesh: meshConfigSchema.prefault({}) });

/**
 * Validates the `mesh:` section and fills its defaults (environment included); throws a
 * `ConfigError` naming each problem, like `mesh.consul.wait: wait is between "1s" and "10m"`.
 *
 * @example parseMeshConfig({ consul: { url: 'http://consul:8500' } }).wait // 55000
 */
export function parseMeshConfig(input: MeshConfigInput | undefined): ConsulConfig {
  return parseWith(wrapped, { mesh: input ?? {} }).mesh.consul;
}
