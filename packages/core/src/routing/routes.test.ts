import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { composeConfigSchema, type PluginSchema } from '../config/plugin-schema.js';
import { parseConfig } from '../config/validate.js';
import type { BuiltinRoute } from '../types.js';
import { type BuiltinEntry, routesOf } from './routes.js';

// Built-ins as plugins bring them (the API reference's document with its twin and page, the dashboard).
const plugin: PluginSchema = {
  name: 'pages',
  builtins: {
    openapi: {
      path: '/openapi.json',
      exact: true,
      twins: (p) => [p.endsWith('.json') ? `${p.slice(0, -5)}.yaml` : `${p}.yaml`],
    },
    docs: { path: '/docs', exact: false, reference: true },
    ui: {
      path: '/ui',
      exact: false,
      optIn: true,
      options: { auth: z.enum(['required', 'public']).optional(), scopes: z.array(z.string()).optional() },
      access: (s, provides) => {
        const auth =
          (s.auth as 'required' | 'public' | undefined) ??
          (provides.has('authentication') ? 'required' : 'public');
        return { auth, scopes: (s.scopes as string[] | undefined) ?? (auth === 'required' ? ['admin'] : []) };
      },
    },
  },
};
const schema = composeConfigSchema([plugin]);
const entries = new Map<string, BuiltinEntry>(
  [...schema.builtins].map(([name, spec]) => [name, { spec, handler: async () => {} }]),
);
const logger = pino({ level: 'silent' });
const AUTHENTICATION = new Set(['authentication']);
const NOTHING = new Set<string>();

function builtins(input: Record<string, unknown>, provides: ReadonlySet<string> = NOTHING) {
  const config = parseConfig(input, { provides, schema });
  return routesOf(config, entries, provides, logger).filter((r): r is BuiltinRoute => r.kind === 'builtin');
}

const byPath = (routes: BuiltinRoute[]) =>
  Object.fromEntries(routes.map((r) => [r.config.prefix, { builtin: r.builtin, exact: r.exact }]));

describe('the built-in routes a config runs', () => {
  it('mounts each built-in once, the OpenAPI document beside its .yaml twin (both exact), and no dashboard by default', () => {
    expect(byPath(builtins({}))).toEqual({
      '/': { builtin: 'root', exact: true },
      '/health': { builtin: 'health', exact: false },
      '/metrics': { builtin: 'metrics', exact: false },
      '/openapi.json': { builtin: 'openapi', exact: true },
      '/openapi.yaml': { builtin: 'openapi', exact: true },
      '/docs': { builtin: 'docs', exact: false },
    });
  });

  it('derives the twin from a moved document, and drops both with `false`', () => {
    expect(byPath(builtins({ builtins: { openapi: { path: '/api/spec' } } }))['/api/spec.yaml']).toEqual({
      builtin: 'openapi',
      exact: true,
    });
    const paths = builtins({ builtins: { openapi: false } }).map((r) => r.config.prefix);
    expect(paths).not.toContain('/openapi.json');
    expect(paths).not.toContain('/openapi.yaml');
  });

  it('gives a configured route the path of a built-in, twin included', () => {
    const routes = builtins({
      services: { s: { targets: ['http://127.0.0.1:1'] } },
      routes: [{ prefix: '/openapi.yaml', service: 's', auth: 'public' }],
    });
    expect(routes.map((r) => r.config.prefix)).toContain('/openapi.json');
    expect(routes.map((r) => r.config.prefix)).not.toContain('/openapi.yaml');
  });

  it('guards the dashboard with the admin scope when a plugin provides authentication, else leaves it public', () => {
    const guarded = builtins({ builtins: { ui: true } }, AUTHENTICATION).find((r) => r.builtin === 'ui')!;
    expect(guarded.config).toMatchObject({ prefix: '/ui', auth: 'required', scopes: ['admin'] });
    const open = builtins({ builtins: { ui: true } }).find((r) => r.builtin === 'ui')!;
    expect(open.config).toMatchObject({ auth: 'public', scopes: [] });
    const own = builtins({ builtins: { ui: { scopes: ['ops'] } } }, AUTHENTICATION).find(
      (r) => r.builtin === 'ui',
    )!;
    expect(own.config).toMatchObject({ auth: 'required', scopes: ['ops'] });
  });

  it('refuses a plugin built-in under a name core owns, and two plugins claiming one name', () => {
    expect(() =>
      composeConfigSchema([{ name: 'x', builtins: { health: { path: '/h', exact: false } } }]),
    ).toThrow('plugin "x": built-in key "health" belongs to core');
    const a: PluginSchema = { name: 'a', builtins: { cache: { path: '/cache', exact: false } } };
    const b: PluginSchema = { name: 'b', builtins: { cache: { path: '/purge', exact: false } } };
    expect(() => composeConfigSchema([a, b])).toThrow(
      'plugins "a" and "b" both claim the built-in key "cache"',
    );
  });

  it("validates a plugin built-in like core's: a wrong key is named by its path", () => {
    expect(() => parseConfig({ builtins: { docs: { pth: '/x' } } }, { schema })).toThrow('builtins.docs');
    expect(() => parseConfig({ builtins: { nothing: true } })).toThrow('builtins');
  });
});
