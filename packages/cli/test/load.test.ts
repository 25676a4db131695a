import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { loadConfig } from '../src/config/load.js';
import { InvalidConfigError, type Problem } from '../src/config/problems.js';

const dirs: string[] = [];
function project(files: Record<string, string>): string {
  const dir = mkdtempSync(join(tmpdir(), 'lucid-cli-load-'));
  dirs.push(dir);
  for (const [name, text] of Object.entries(files)) {
    mkdirSync(join(dir, name, '..'), { recursive: true });
    writeFileSync(join(dir, name), text);
  }
  return dir;
}
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

const yaml = `
services:
  echo: { targets: ["\${ECHO_URL:-http://127.0.0.1:9}"] }
routes:
  - { prefix: /echo, service: echo, auth: public }
`;

async function problemsOf(p: Promise<unknown>): Promise<Problem[]> {
  try {
    await p;
  } catch (err) {
    expect(err).toBeInstanceOf(InvalidConfigError);
    return (err as InvalidConfigError).problems;
  }
  throw new Error('expected the config to be rejected');
}
const lines = (ps: Problem[]) =>
  ps.filter((p) => p.severity === 'error').map((p) => `${p.path}: ${p.message}`);

describe('loadConfig: discovery', () => {
  it.each([
    ['lucid-gateway.config.yaml', yaml],
    ['lucid-gateway.config.yml', yaml],
    [
      'lucid-gateway.config.json',
      JSON.stringify({
        services: { echo: { targets: ['${ECHO_URL:-http://127.0.0.1:9}'] } },
        routes: [{ prefix: '/echo', service: 'echo', auth: 'public' }],
      }),
    ],
    ['.lucid-gatewayrc', yaml],
    ['.lucid-gatewayrc.yaml', yaml],
    [
      'package.json',
      JSON.stringify({
        name: 'x',
        'lucid-gateway': {
          services: { echo: { targets: ['${ECHO_URL:-http://127.0.0.1:9}'] } },
          routes: [{ prefix: '/echo', service: 'echo', auth: 'public' }],
        },
      }),
    ],
  ])('finds %s and substitutes the environment', async (name, text) => {
    const cwd = project({ [name]: text });
    const loaded = await loadConfig({ cwd, env: { ECHO_URL: 'http://127.0.0.1:7001' } });
    expect(loaded.filepath).toBe(join(cwd, name));
    expect(loaded.config.services.echo!.targets).toEqual([{ url: 'http://127.0.0.1:7001', weight: 1 }]);
  });

  it.each([
    [
      'lucid-gateway.config.mjs',
      'export default { services: { echo: { targets: ["${NOT_SUBSTITUTED}"] } }, routes: [] }',
    ],
    [
      'lucid-gateway.config.js',
      'export default async () => ({ services: { echo: { targets: ["${NOT_SUBSTITUTED}"] } } })',
    ],
    [
      'lucid-gateway.config.cjs',
      'module.exports = { services: { echo: { targets: ["${NOT_SUBSTITUTED}"] } } }',
    ],
    [
      'lucid-gateway.config.ts',
      'const url: string = "${NOT_SUBSTITUTED}";\nexport default { services: { echo: { targets: [url] } } };',
    ],
  ])('loads the module %s without substituting it', async (name, text) => {
    const cwd = project({ [name]: text, 'package.json': '{"type":"module"}' });
    const problems = await problemsOf(loadConfig({ cwd, env: {} }));
    // The module's literal string reaches the schema, which rejects it as a URL.
    expect(lines(problems)).toEqual([
      'services.echo.targets[0]: expected an http:// or https:// URL like "http://lucid-auth-service:8089"',
    ]);
  });

  it('prefers lucid-gateway.config.* over an rc file and package.json', async () => {
    const cwd = project({
      '.lucid-gatewayrc.json': '{"name":"rc"}',
      'lucid-gateway.config.yaml': 'name: config',
      'package.json': '{"lucid-gateway":{"name":"pkg"}}',
    });
    expect((await loadConfig({ cwd, env: {} })).config.name).toBe('config');
  });

  it('reads --config relative to cwd, whatever its name', async () => {
    const cwd = project({ 'conf/gw.yaml': 'name: chosen', 'lucid-gateway.config.yaml': 'name: found' });
    const loaded = await loadConfig({ cwd, file: 'conf/gw.yaml', env: {} });
    expect(loaded.config.name).toBe('chosen');
  });

  it('says a --config file is missing, with a fix', async () => {
    const cwd = project({});
    const [p] = await problemsOf(loadConfig({ cwd, file: 'nope.yaml', env: {} }));
    expect(p!.message).toBe(`config file not found: ${join(cwd, 'nope.yaml')}`);
    expect(p!.fix).toMatch(/lucid-gateway init/);
  });

  it('points at the line of a YAML syntax error', async () => {
    const cwd = project({ 'lucid-gateway.config.yaml': 'services:\n  a: { targets: [x\nroutes: []\n' });
    const [p] = await problemsOf(loadConfig({ cwd, env: {} }));
    expect(p!.path).toMatch(/^line \d+, column \d+$/);
  });

  it('rejects duplicate YAML keys rather than keeping the last', async () => {
    const cwd = project({ 'lucid-gateway.config.yaml': 'name: a\nname: b\n' });
    const [p] = await problemsOf(loadConfig({ cwd, env: {} }));
    expect(p!.message).toMatch(/unique/i);
  });

  it('treats an empty file as an empty config', async () => {
    const cwd = project({ 'lucid-gateway.config.yaml': '# nothing yet\n' });
    const loaded = await loadConfig({ cwd, env: {} });
    expect(loaded.config.routes).toEqual([]);
    expect(loaded.filepath).toBe(join(cwd, 'lucid-gateway.config.yaml'));
  });

  it('rejects a top level that is not a mapping', async () => {
    const cwd = project({ 'lucid-gateway.config.yaml': '- a\n- b\n' });
    expect(lines(await problemsOf(loadConfig({ cwd, env: {} })))[0]).toMatch(/expected a mapping/);
  });
});

describe('loadConfig: the embedded default', () => {
  it('serves only the public route without JWT_SECRET_KEY', async () => {
    const loaded = await loadConfig({ cwd: project({}), env: {} });
    expect(loaded.filepath).toBeUndefined();
    expect(loaded.config.routes.map((r) => r.prefix)).toEqual(['/auth']);
    expect(loaded.config.auth).toBeUndefined();
  });

  it('serves the five Lucid services with JWT_SECRET_KEY, upstreams from the environment', async () => {
    const loaded = await loadConfig({
      cwd: project({}),
      env: { JWT_SECRET_KEY: 's'.repeat(32), NODE_MANAGEMENT_URL: 'http://127.0.0.1:7096' },
    });
    expect(loaded.config.routes.map((r) => r.prefix)).toEqual([
      '/auth',
      '/blockchain',
      '/sessions',
      '/nodes',
      '/admin',
    ]);
    expect(loaded.config.services.nodes!.targets[0]!.url).toBe('http://127.0.0.1:7096');
    expect(loaded.config.services.auth!.targets[0]!.url).toBe('http://lucid-auth-service:8089');
    // The embedded default keeps /metrics on its one port (no server.admin), and says so.
    expect(loaded.warnings.map((w) => w.path)).toEqual(['builtins.metrics']);
  });
});

describe('loadConfig: environment and flags', () => {
  const full = `
server: { port: 8080 }
services: { a: { targets: [http://127.0.0.1:9] } }
routes: [{ prefix: /a, service: a }]
auth: { jwt: { secret: "\${JWT_SECRET_KEY:-file-secret-file-secret-file-secret}", issuer: i, audience: a } }
rateLimit: { store: redis, redis: { url: redis://file:6379 } }
mesh: { consul: { url: http://file:8500 } }
`;
  it('PORT, LOG_LEVEL, JWT_SECRET_KEY, REDIS_URL and CONSUL_HTTP_ADDR override the file', async () => {
    const cwd = project({ 'lucid-gateway.config.yaml': full });
    const loaded = await loadConfig({
      cwd,
      env: {
        PORT: '9090',
        LOG_LEVEL: 'DEBUG',
        JWT_SECRET_KEY: 'env-secret-env-secret-env-secret-env',
        REDIS_URL: 'redis://env:6379',
        CONSUL_HTTP_ADDR: 'consul.local:8500',
      },
    });
    expect(loaded.config.server.port).toBe(9090);
    expect(loaded.config.logging.level).toBe('debug');
    expect(loaded.input).toMatchObject({
      auth: { jwt: { secret: 'env-secret-env-secret-env-secret-env' } },
      rateLimit: { redis: { url: 'redis://env:6379' } },
      mesh: { consul: { url: 'http://consul.local:8500' } },
    });
    expect(loaded.applied).toEqual(['PORT', 'LOG_LEVEL', 'JWT_SECRET_KEY', 'REDIS_URL', 'CONSUL_HTTP_ADDR']);
  });

  it('flags win over the environment', async () => {
    const cwd = project({ 'lucid-gateway.config.yaml': full });
    const loaded = await loadConfig({ cwd, env: { PORT: '9090' }, flags: { port: 7070, host: '127.0.0.1' } });
    expect(loaded.config.server).toMatchObject({ port: 7070, host: '127.0.0.1' });
    expect(loaded.applied).toEqual(['--port', '--host']);
  });

  it('does not switch on sections the file does not have', async () => {
    const cwd = project({ 'lucid-gateway.config.yaml': yaml });
    const loaded = await loadConfig({
      cwd,
      env: { JWT_SECRET_KEY: 'x', REDIS_URL: 'redis://r', CONSUL_HTTP_ADDR: 'c:1' },
    });
    expect(loaded.input.auth).toBeUndefined();
    expect(loaded.input.rateLimit).toBeUndefined();
    expect(loaded.input.mesh).toBeUndefined();
    expect(loaded.applied).toEqual([]);
  });

  it('rejects a PORT that is not a port', async () => {
    const cwd = project({ 'lucid-gateway.config.yaml': yaml });
    expect(lines(await problemsOf(loadConfig({ cwd, env: { PORT: 'http' } })))).toEqual([
      'server.port: PORT="http" is not a port number',
    ]);
  });

  it('turns a whole-value reference into the number or boolean the schema wants', async () => {
    const cwd = project({
      'lucid-gateway.config.yaml': `${yaml}
server: { port: "\${GW_PORT:-8181}", timeouts: { shutdown: "\${GRACE:-5s}" } }
services:
  echo: { targets: [http://127.0.0.1:9], preserveHost: "\${PRESERVE:-true}" }
`.replace(/^services:\n {2}echo: \{ targets: \["\$\{ECHO_URL:-http:\/\/127.0.0.1:9\}"\] \}\n/m, ''),
    });
    const loaded = await loadConfig({ cwd, env: {} });
    expect(loaded.config.server.port).toBe(8181);
    expect(loaded.config.server.timeouts.shutdown).toBe(5000);
    expect(loaded.config.services.echo!.preserveHost).toBe(true);
    expect(loaded.input).toMatchObject({ server: { port: 8181 } });
  });

  it('leaves a number written as a string in the file for the schema to reject', async () => {
    const cwd = project({ 'lucid-gateway.config.yaml': `${yaml}\nserver: { port: "8181" }\n` });
    expect(lines(await problemsOf(loadConfig({ cwd, env: {} })))[0]).toMatch(/^server\.port: /);
  });

  it('names an unset variable and its path', async () => {
    const cwd = project({ 'lucid-gateway.config.yaml': 'services: { a: { targets: ["${A_URL}"] } }\n' });
    expect(lines(await problemsOf(loadConfig({ cwd, env: {} })))).toEqual([
      'services.a.targets[0]: environment variable A_URL is not set',
    ]);
  });
});
