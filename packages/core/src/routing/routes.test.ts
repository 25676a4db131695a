import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { BUILTIN_NAMES, type BuiltinName } from '../builtins/table.js';
import { parseConfig } from '../config/validate.js';
import type { Handler } from '../pipeline/compose.js';
import type { BuiltinRoute } from '../types.js';
import { routesOf } from './routes.js';

const handlers = Object.fromEntries(BUILTIN_NAMES.map((n) => [n, async () => {}])) as unknown as Record<
  BuiltinName,
  Handler
>;
const logger = pino({ level: 'silent' });
const AUTHENTICATION = new Set(['authentication']);
const NOTHING = new Set<string>();

function builtins(input: Record<string, unknown>, provides: ReadonlySet<string> = NOTHING) {
  const config = parseConfig(input, { provides });
  return routesOf(config, handlers, provides, logger).filter((r): r is BuiltinRoute => r.kind === 'builtin');
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
});
