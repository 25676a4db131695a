import type { ConfigIssue, PluginSchema, ServiceConfig } from '@lucid/gateway-core';
import { z } from 'zod';
import { type MeshConfigInput, meshConfigSchema } from './schema.js';

/** A service's `consul` options: which Consul service, tag, datacenter and namespace its targets come from. */
export const consulServiceSchema = z
  .strictObject({
    service: z.string().optional(),
    tag: z.string().optional(),
    dc: z.string().optional(),
    ns: z.string().optional(),
  })
  .default({});

export type ConsulServiceOptions = z.output<typeof consulServiceSchema>;

/** A service's `consul` options, as the schema checked them (empty when it has none). */
export const consulOptionsOf = (service: ServiceConfig): ConsulServiceOptions =>
  (service as ServiceConfig & { consul?: ConsulServiceOptions }).consul ?? {};

/**
 * What the Consul mesh adds to the config: the `mesh` section, a service's `consul` options, the
 * `consul` discovery kind, and a check that services discovered through Consul have it running.
 *
 * @example composeConfigSchema([meshPluginSchema])
 */
export const meshPluginSchema: PluginSchema = {
  name: 'consul',
  sections: { mesh: meshConfigSchema },
  service: { consul: consulServiceSchema },
  discovery: ['consul'],
  check({ config, provides, invalidSections }) {
    const issues: ConfigIssue[] = [];
    // The gateway says `discovery:consul` when a plugin watches Consul (the CLI: a `mesh` section).
    if (provides.has('discovery:consul') || invalidSections.has('mesh')) return issues;
    for (const [name, service] of Object.entries(config.services)) {
      if (service.discovery !== 'consul') continue;
      issues.push({
        path: `services.${name}.discovery`,
        message: '"consul" discovery needs Consul, but no "mesh" section is configured',
        fix: 'add a mesh section (mesh: { consul: { url: http://127.0.0.1:8500 } }; CONSUL_HTTP_ADDR also works), or list static targets',
      });
    }
    return issues;
  },
};

// The `mesh` section and a service's `consul` options, in the config's type once this package is imported.
declare module '@lucid/gateway-core' {
  interface GatewayConfigExtensions {
    /** Consul discovery, self-registration and Connect mTLS (`@lucid/mesh-consul`). */
    mesh?: MeshConfigInput;
  }
  interface ServiceOptionsExtensions {
    /** How a `discovery: consul` service is looked up: its Consul name, tag, datacenter (`@lucid/mesh-consul`). */
    consul?: z.input<typeof consulServiceSchema>;
  }
}
