import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  type ComposedSchema,
  ConfigError,
  composeConfigSchema,
  configJsonSchema,
  configReference,
  createGateway,
  createLogger,
  errorSpec,
  type Gateway,
  type GatewayConfigInput,
  GatewayError,
  type GatewayPlugin,
  type PluginSchema,
  type Target,
  targetFromUrl,
  validateConfig,
} from '@lucid/gateway-core';
import { send, startUpstream, type Upstream } from '@lucid/test-kit';
import { afterEach, describe, expect, it } from 'vitest';
import { z } from 'zod';

/**
 * A third-party plugin, written against core's public seam only: a `quota` section, a route's
 * `quota` option, a `static-file` discovery kind, and its own error code.
 */
const quotaSchema: PluginSchema = {
  name: 'quota',
  sections: {
    quota: z.strictObject({
      perDay: z.number().int().min(1),
      message: z.string().default('come back tomorrow'),
    }),
  },
  route: { quota: z.number().int().min(0).optional() },
  service: { file: z.string().optional() },
  discovery: ['static-file'],
  errors: { GW_QUOTA_EXCEEDED: { status: 429, title: 'Quota exceeded' } },
  check({ config, routePath }) {
    const perDay = (config.quota as { perDay?: number } | undefined)?.perDay;
    return config.routes.flatMap((route) => {
      const own = route.quota as number | undefined;
      if (own === undefined || perDay === undefined || own <= perDay) return [];
      return [{ path: `${routePath(route)}.quota`, message: `more than quota.perDay (${perDay})` }];
    });
  },
};

function quotaPlugin(targets: Target[]): GatewayPlugin {
  return {
    name: 'quota',
    schema: quotaSchema,
    discovery: {
      name: 'static-file',
      watch(_name, onTargets) {
        onTargets(targets);
        return () => {};
      },
    },
    middleware(route) {
      const left = { n: (route.config.quota as number | undefined) ?? Number.POSITIVE_INFINITY };
      return async function quota(_ctx, next) {
        if (left.n-- <= 0) throw new GatewayError('GW_QUOTA_EXCEEDED', { detail: 'quota used up' });
        await next();
      };
    },
  };
}

const silent = () => createLogger({ level: 'silent', pretty: false, accessLog: false });

describe('a third-party plugin through the seam', () => {
  let upstream: Upstream | undefined;
  let gateway: Gateway | undefined;
  afterEach(async () => {
    await gateway?.close({ graceMs: 0 });
    gateway = undefined;
    await upstream?.close();
    upstream = undefined;
  });

  const schema: ComposedSchema = composeConfigSchema([quotaSchema]);
  const config: GatewayConfigInput = {
    services: { files: { discovery: 'static-file', file: '/etc/targets' } },
    routes: [{ prefix: '/f', service: 'files', auth: 'public', quota: 2 }],
    quota: { perDay: 10 },
  };

  it('adds a section, a route option, a service option and a discovery kind that validate', () => {
    // With an admin listener, as a sound config has it: /metrics on the public port is warned about.
    const { config: parsed, issues } = validateConfig(
      { ...config, server: { admin: { port: 9901 } } },
      { schema },
    );
    expect(issues).toEqual([]);
    expect(parsed?.quota).toEqual({ perDay: 10, message: 'come back tomorrow' });
    expect(parsed?.routes[0]?.quota).toBe(2);
    expect(parsed?.services.files?.discovery).toBe('static-file');
  });

  it("reports mistakes in its settings and its own checks together with core's, in one pass", () => {
    const { issues } = validateConfig(
      {
        server: { admin: { port: 9901 } },
        services: { files: { discovery: 'static-flie' } },
        routes: [
          { prefix: '/f', service: 'files', quota: 20 },
          { prefix: '/g', service: 'files', auth: 'public', quota: -1 },
        ],
        quota: { perDay: 10, perWeek: 70 },
      },
      { schema },
    );
    expect(issues.map((i) => `${i.path}: ${i.message}`)).toEqual([
      'services.files.discovery: expected "static" or "static-file"',
      'routes[1].quota: must be at least 0',
      'quota.perWeek: unknown key (allowed: perDay, message)',
      'routes[0].auth: "/f" needs a verified identity (routes do unless they say "auth: public"), but nothing authenticates (no plugin provides authentication)',
    ]);
  });

  it('is unknown to core without the plugin', () => {
    const { issues } = validateConfig(config);
    expect(issues.map((i) => i.path)).toEqual(
      expect.arrayContaining(['services.files.discovery', 'services.files.file', 'routes[0].quota', 'quota']),
    );
  });

  it('shows in the JSON Schema', () => {
    const json = configJsonSchema(schema) as {
      properties: Record<
        string,
        { properties?: Record<string, unknown>; additionalProperties?: unknown; items?: unknown }
      >;
    };
    expect(json.properties.quota?.properties).toHaveProperty('perDay');
    const route = json.properties.routes?.items as { properties: Record<string, unknown> };
    expect(route.properties).toHaveProperty('quota');
    const service = json.properties.services?.additionalProperties as {
      properties: Record<string, { enum?: string[]; default?: string }>;
    };
    expect(service.properties.discovery?.enum).toEqual(['static', 'static-file']);
    expect(service.properties).toHaveProperty('file');
    expect(JSON.stringify(configJsonSchema(composeConfigSchema([])))).not.toContain('quota');
  });

  it('shows in the configuration reference', () => {
    const docs = configReference(schema);
    expect(docs).toContain('## `quota`');
    expect(docs).toContain('| `quota.perDay` | integer |');
    expect(docs).toContain('| `quota.message` | string | `"come back tomorrow"` |');
    expect(docs).toContain('| `routes[].quota` | integer |');
    expect(docs).toContain('| `services.<name>.discovery` | `static` \\| `static-file` | `"static"` |');
  });

  it('registers its error code in the one table, and a gateway answers with it', async () => {
    upstream = await startUpstream();
    gateway = createGateway(config, {
      plugins: [quotaPlugin([targetFromUrl(upstream.url)])],
      logger: silent(),
    });
    expect(errorSpec('GW_QUOTA_EXCEEDED')).toEqual({ status: 429, title: 'Quota exceeded' });
    const { port } = await gateway.listen({ port: 0, host: '127.0.0.1' });
    const url = `http://127.0.0.1:${port}/f/x`;
    expect((await send(url)).status).toBe(200);
    expect((await send(url)).status).toBe(200);
    const refused = await send(url);
    expect(refused.status).toBe(429);
    expect(refused.json()).toMatchObject({
      code: 'GW_QUOTA_EXCEEDED',
      title: 'Quota exceeded',
      detail: 'quota used up',
    });
  });

  it('refuses two plugins claiming one key, a key core owns, and a code registered otherwise', () => {
    const clash: PluginSchema = { name: 'other', route: { quota: z.string().optional() } };
    expect(() => composeConfigSchema([quotaSchema, clash])).toThrow(/both claim the route key "quota"/);
    expect(() => composeConfigSchema([{ name: 'greedy', route: { scopes: z.string() } }])).toThrow(
      /route key "scopes" belongs to core/,
    );
    expect(() =>
      composeConfigSchema([{ name: 'liar', errors: { GW_QUOTA_EXCEEDED: { status: 400, title: 'Nope' } } }]),
    ).toThrow(/already registered as 429/);
    expect(() => new GatewayError('GW_NEVER_REGISTERED')).toThrow(/unregistered error code/);
  });

  it('refuses the config at createGateway when the plugin is missing', () => {
    expect(() => createGateway(config, { logger: silent() })).toThrow(ConfigError);
  });
});

describe("core's source", () => {
  it('names no plugin', () => {
    const src = fileURLToPath(new URL('../src', import.meta.url));
    const files = readdirSync(src, { recursive: true, withFileTypes: true })
      .filter((e) => e.isFile() && e.name.endsWith('.ts') && !e.name.endsWith('.test.ts'))
      .map((e) => join(e.parentPath, e.name));
    expect(files.length).toBeGreaterThan(30);
    const named: string[] = [];
    for (const file of files) {
      const text = readFileSync(file, 'utf8');
      for (const word of [
        /consul/i,
        /\bjwks?\b/i,
        /redis/i,
        /'mesh'/,
        /\bmesh:/,
        /rateLimit/,
        // The auth plugin's route option; the `Identity` type core defines has a `readonly claims` field.
        /(?<!readonly )\bclaims:/,
        /@lucid\/(middleware|mesh|acme)/,
        /acme-client/,
      ]) {
        if (word.test(text)) named.push(`${file.slice(src.length)}: ${word}`);
      }
    }
    expect(named).toEqual([]);
  });
});

// A third-party plugin tells the type system about its keys as the in-repo ones do.
declare module '@lucid/gateway-core' {
  interface GatewayConfigExtensions {
    quota?: { perDay: number };
  }
  interface RouteOptionsExtensions {
    quota?: number;
  }
  interface ServiceOptionsExtensions {
    file?: string;
  }
}
