import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { BIN, cleanEnv, ensureBuilt, runCli, tempProject } from '@lucid/test-kit/cli';
import { decodeProtectedHeader, jwtVerify } from 'jose';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';

const SECRET = 'a-development-secret-of-at-least-32-bytes';
const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as {
  version: string;
};

const projects: Array<{ cleanup(): void }> = [];
function project(files: Record<string, string> = {}) {
  const p = tempProject(files);
  projects.push(p);
  return p;
}

beforeAll(ensureBuilt, 180_000);
afterEach(() => {
  for (const p of projects.splice(0)) p.cleanup();
});

// With an admin port: /metrics off the public port, so a sound config draws no warning.
const valid = `
server:
  admin: { port: 9901 }
services:
  auth: { targets: ["\${AUTH_URL:-http://127.0.0.1:8089}"] }
  nodes: { targets: [http://127.0.0.1:8096] }
routes:
  - { prefix: /auth, service: auth, auth: public }
  - { prefix: /nodes, service: nodes, scopes: [nodes] }
auth:
  jwt: { secret: "\${JWT_SECRET_KEY}", issuer: lucid-auth, audience: lucid-api }
`;

/** Problems a person can act on: path, message, fix, and never a stack trace. */
function expectReadable(stderr: string) {
  expect(stderr).not.toMatch(/\n\s+at .+:\d+:\d+/);
  expect(stderr).not.toMatch(/ConfigError|ZodError/);
}

describe('--version and --help', () => {
  it('prints the version', async () => {
    const r = await runCli(['--version']);
    expect(r).toMatchObject({ code: 0, stdout: `${pkg.version}\n` });
  });

  it('lists every command with examples', async () => {
    const r = await runCli(['--help']);
    expect(r.code).toBe(0);
    for (const cmd of ['start', 'validate', 'routes', 'init', 'token', 'schema'])
      expect(r.stdout).toContain(cmd);
    expect(r.stdout).toContain('Examples:');
    expect(r.stdout).toContain('lucid-gateway token --sub');
  });

  it('documents the start options and signals', async () => {
    const r = await runCli(['start', '--help']);
    expect(r.code).toBe(0);
    for (const opt of [
      '--config',
      '--port',
      '--host',
      '--env-file',
      '--workers',
      '--watch',
      'SIGHUP',
      'SIGTERM',
    ]) {
      expect(r.stdout).toContain(opt);
    }
  });

  it('exits 2 on wrong usage, with a hint', async () => {
    const unknown = await runCli(['strat']);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toMatch(/unknown command 'strat'/);
    expect(unknown.stderr).toMatch(/Did you mean start\?/);
    const badPort = await runCli(['start', '--port', 'http']);
    expect(badPort.code).toBe(2);
    expect(badPort.stderr).toMatch(/expected a port number/);
    expect((await runCli(['token'])).code).toBe(2);
  });
});

describe('a closed stdout (`lucid-gateway --help | head -3`)', () => {
  /** Runs the CLI with a stdout pipe whose reading end is closed before the CLI writes a byte. */
  async function withClosedStdout(args: string[], cwd?: string) {
    const child = spawn(process.execPath, [BIN, ...args], {
      cwd,
      env: cleanEnv({ JWT_SECRET_KEY: SECRET }),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child.stdout.destroy();
    let stderr = '';
    child.stderr.on('data', (c: Buffer) => {
      stderr += c.toString();
    });
    const [code] = (await once(child, 'close')) as [number | null];
    return { code, stderr };
  }

  it.each([[['--help']], [['schema']], [['routes']], [['validate', '--json']]])(
    '%j ends quietly with exit 0, no EPIPE and no stack',
    async (args) => {
      const p = project({ 'lucid-gateway.config.yaml': valid });
      const r = await withClosedStdout(args, p.dir);
      expect(r.stderr).not.toMatch(/EPIPE|Error|\n\s+at /);
      expect(r.code).toBe(0);
    },
  );
});

describe('the bin, run as an executable (its shebang)', () => {
  it("keeps --env-file for itself: a missing file is its own one-line message, not Node's exit 9", async () => {
    const p = project({ 'lucid-gateway.config.yaml': valid });
    const child = spawn(BIN, ['validate', '--env-file', 'missing.env'], {
      cwd: p.dir,
      env: cleanEnv({ JWT_SECRET_KEY: SECRET }),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (c: Buffer) => {
      stderr += c.toString();
    });
    const [code] = (await once(child, 'close')) as [number | null];
    expect(stderr).toMatch(/^lucid-gateway: --env-file missing\.env: file not found/);
    expect(code).toBe(1);
  });

  it('reads the --env-file it is given, run as an executable', async () => {
    const p = project({
      'lucid-gateway.config.yaml': valid,
      'dev.env': `JWT_SECRET_KEY=${SECRET}\n`,
    });
    const r = await new Promise<{ code: number | null; out: string }>((resolve) => {
      const child = spawn(BIN, ['validate', '--env-file', 'dev.env'], {
        cwd: p.dir,
        env: cleanEnv(),
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let out = '';
      child.stdout.on('data', (c: Buffer) => {
        out += c.toString();
      });
      child.stderr.on('data', (c: Buffer) => {
        out += c.toString();
      });
      child.on('close', (code) => resolve({ code, out }));
    });
    expect(r.out).not.toMatch(/node:/);
    expect(r.code).toBe(0);
  });
});

describe('validate', () => {
  it('accepts a sound config (exit 0) and names the file', async () => {
    const p = project({ 'lucid-gateway.config.yaml': valid });
    const r = await runCli(['validate'], { cwd: p.dir, env: { JWT_SECRET_KEY: SECRET } });
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toBe(`${join(p.dir, 'lucid-gateway.config.yaml')} is valid (2 services, 2 routes)\n`);
  });

  it('lists every problem with its path and a fix (exit 1)', async () => {
    const p = project({
      'gw.yaml': `
services:
  sessions: { targets: [http://127.0.0.1:1] }
  nodes: { targets: [http://127.0.0.1:2] }
routes:
  - { prefix: /s, service: sessions, auth: public }
  - { prefix: /s, service: nodes, auth: public }
  - { prefix: /n, service: nodes }
`,
    });
    const r = await runCli(['validate', '--config', 'gw.yaml'], { cwd: p.dir });
    expect(r.code).toBe(1);
    expect(r.stdout).toBe('');
    expect(r.stderr).toContain(`lucid-gateway: ${join(p.dir, 'gw.yaml')} has 2 problems:`);
    expect(r.stderr).toContain(
      'routes[1].prefix: "/s" can never match: routes[0] ("/s") takes the same requests',
    );
    expect(r.stderr).toContain('fix: remove one of the two, or tell them apart with "methods" or "host"');
    expect(r.stderr).toContain('routes[2].auth: "/n" needs a verified identity');
    expect(r.stderr).toContain(
      'fix: configure a plugin that authenticates, or set "auth: public" on this route',
    );
    expectReadable(r.stderr);
  });

  it('reports schema problems from core and the plugins, with suggestions', async () => {
    const p = project({
      'lucid-gateway.config.yaml': `
services: { sessions: { targets: [http://127.0.0.1:1] } }
routes: [{ prefix: /s, service: sesions, auth: public }]
rateLimit: { store: redis }
`,
    });
    const r = await runCli(['validate'], { cwd: p.dir });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/rateLimit\.redis: store "redis" needs a connection/);
    expectReadable(r.stderr);
    const fixed = await runCli(['validate'], {
      cwd: project({
        'lucid-gateway.config.yaml': `
services: { sessions: { targets: [http://127.0.0.1:1] } }
routes: [{ prefix: /s, service: sesions, auth: public }]
`,
      }).dir,
    });
    expect(fixed.code).toBe(1);
    expect(fixed.stderr).toContain('routes[0].service: unknown service "sesions" (did you mean "sessions"?)');
  });

  it('prints warnings but still passes', async () => {
    const p = project({
      'lucid-gateway.config.yaml': `
services: { a: { targets: [http://127.0.0.1:1] }, unused: { targets: [http://127.0.0.1:2] } }
routes: [{ prefix: /a, service: a, auth: public }]
`,
    });
    const r = await runCli(['validate'], { cwd: p.dir });
    expect(r.code).toBe(0);
    expect(r.stderr).toContain('warning services.unused: no route uses this service');
  });

  it('answers in JSON with --json', async () => {
    const p = project({ 'lucid-gateway.config.yaml': valid });
    const bad = await runCli(['validate', '--json'], { cwd: p.dir });
    expect(bad.code).toBe(1);
    expect(JSON.parse(bad.stdout)).toEqual({
      valid: false,
      file: join(p.dir, 'lucid-gateway.config.yaml'),
      problems: [
        {
          path: 'auth.jwt.secret',
          message: 'environment variable JWT_SECRET_KEY is not set',
          fix: 'set JWT_SECRET_KEY, put it in the --env-file, or give a default: ${JWT_SECRET_KEY:-value}',
          severity: 'error',
        },
      ],
    });
    const good = await runCli(['validate', '--json'], { cwd: p.dir, env: { JWT_SECRET_KEY: SECRET } });
    expect(JSON.parse(good.stdout)).toMatchObject({ valid: true, problems: [] });
  });

  it('reads --env-file before substituting, and the real environment wins over it', async () => {
    const p = project({
      'lucid-gateway.config.yaml': valid,
      '.env.core': `JWT_SECRET_KEY=${SECRET}\nAUTH_URL=http://127.0.0.1:7777\n`,
    });
    const fromFile = await runCli(['routes', '--json', '--env-file', '.env.core'], { cwd: p.dir });
    expect(fromFile.code).toBe(0);
    expect(JSON.parse(fromFile.stdout)[0].upstream).toEqual(['http://127.0.0.1:7777']);
    const realWins = await runCli(['routes', '--json', '--env-file', '.env.core'], {
      cwd: p.dir,
      env: { AUTH_URL: 'http://127.0.0.1:6666' },
    });
    expect(JSON.parse(realWins.stdout)[0].upstream).toEqual(['http://127.0.0.1:6666']);
    // Node itself checks an --env-file argument (even after the script) and may answer first.
    const missing = await runCli(['validate', '--env-file', 'nope.env'], { cwd: p.dir });
    expect(missing.code).not.toBe(0);
    expect(missing.stderr).toMatch(/nope\.env: (file )?not found/);
  });

  it('says so when --config names a missing file', async () => {
    const p = project();
    const r = await runCli(['validate', '--config', 'missing.yaml'], { cwd: p.dir });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`config file not found: ${join(p.dir, 'missing.yaml')}`);
    expect(r.stderr).toContain('lucid-gateway init');
  });
});

describe('routes', () => {
  it('prints the route table with the built-ins the gateway keeps', async () => {
    const p = project({
      'lucid-gateway.config.yaml': `${valid}
builtins: { metrics: false }
`,
    });
    const r = await runCli(['routes'], { cwd: p.dir, env: { JWT_SECRET_KEY: SECRET } });
    expect(r.code).toBe(0);
    const rows = r.stdout.split('\n').filter((l) => l.startsWith('/'));
    expect(rows.map((l) => l.split(/\s+/)[0])).toEqual([
      '/auth',
      '/nodes',
      '/',
      '/health',
      '/openapi.json',
      '/openapi.yaml',
      '/docs',
    ]);
    expect(rows[1]).toMatch(
      /^\/nodes\s+\*\s+\*\s+nodes\s+http:\/\/127\.0\.0\.1:8096\s+required\s+nodes\s+yes$/,
    );
  });

  it('answers in JSON with --json, from the config as the gateway reads it', async () => {
    const p = project({ 'lucid-gateway.config.yaml': valid });
    const r = await runCli(['routes', '--json'], {
      cwd: p.dir,
      env: { JWT_SECRET_KEY: SECRET, AUTH_URL: 'http://10.0.0.1:1' },
    });
    expect(r.code).toBe(0);
    const rows = JSON.parse(r.stdout);
    expect(rows[0]).toEqual({
      id: '/auth',
      kind: 'proxy',
      prefix: '/auth',
      methods: ['*'],
      service: 'auth',
      stripPrefix: true,
      auth: 'public',
      scopes: [],
      upstream: ['http://10.0.0.1:1'],
    });
    expect(rows.filter((x: { kind: string }) => x.kind === 'builtin')).toHaveLength(6);
  });

  it('shows where discovered services come from', async () => {
    const p = project({
      'lucid-gateway.config.yaml': `
services: { sessions: { discovery: consul, consul: { service: lucid-session-api } } }
routes: [{ prefix: /sessions, service: sessions, auth: public }]
mesh: { consul: { url: "http://127.0.0.1:1" } }
`,
    });
    const r = await runCli(['routes', '--json'], { cwd: p.dir });
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)[0].upstream).toEqual(['(consul: lucid-session-api)']);
  });

  it('refuses an invalid config like validate does', async () => {
    const p = project({ 'lucid-gateway.config.yaml': 'routes: [{ prefix: /x, service: nope }]\n' });
    const r = await runCli(['routes'], { cwd: p.dir });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('routes[0].service: unknown service "nope"');
  });
});

describe('init', () => {
  it('writes a starter config for the five Lucid services that validates', async () => {
    const p = project();
    const r = await runCli(['init', 'gateway'], { cwd: p.dir });
    expect(r.code).toBe(0);
    const file = join(p.dir, 'gateway', 'lucid-gateway.config.yaml');
    expect(r.stdout).toContain('wrote gateway/lucid-gateway.config.yaml');
    const text = readFileSync(file, 'utf8');
    expect(text.match(/^\s*#/gm)!.length).toBeGreaterThan(10);
    const routes = await runCli(['routes', '--json'], {
      cwd: join(p.dir, 'gateway'),
      env: { JWT_SECRET_KEY: SECRET },
    });
    expect(routes.code).toBe(0);
    expect(JSON.parse(routes.stdout).map((x: { service: string }) => x.service)).toEqual([
      'auth',
      'blockchain',
      'sessions',
      'nodes',
      'admin',
      ...Array(6).fill(undefined),
    ]);
    const validate = await runCli(['validate'], {
      cwd: join(p.dir, 'gateway'),
      env: { JWT_SECRET_KEY: SECRET },
    });
    expect(validate).toMatchObject({ code: 0, stderr: '' });
  });

  it('shows how to turn the dashboard on: uncommented, it is served to admins only', async () => {
    const p = project();
    expect((await runCli(['init'], { cwd: p.dir })).code).toBe(0);
    const file = join(p.dir, 'lucid-gateway.config.yaml');
    const text = readFileSync(file, 'utf8');
    expect(text).toContain('# builtins:\n#   ui: { path: /ui, refresh: 2s }');
    writeFileSync(file, text.replace('# builtins:\n#   ui:', 'builtins:\n  ui:'));
    const routes = await runCli(['routes', '--json'], { cwd: p.dir, env: { JWT_SECRET_KEY: SECRET } });
    expect(routes.code).toBe(0);
    const ui = JSON.parse(routes.stdout).find((x: { id: string }) => x.id === 'builtin:ui');
    expect(ui).toMatchObject({ prefix: '/ui', auth: 'required', scopes: ['admin'] });
  });

  it('never overwrites a config unless told to', async () => {
    const p = project({ 'lucid-gateway.config.yaml': 'name: mine\n' });
    const again = await runCli(['init'], { cwd: p.dir });
    expect(again.code).toBe(1);
    expect(again.stderr).toMatch(/already exists; use --force/);
    expect(readFileSync(join(p.dir, 'lucid-gateway.config.yaml'), 'utf8')).toBe('name: mine\n');
    expect((await runCli(['init', '--force'], { cwd: p.dir })).code).toBe(0);
    expect(readFileSync(join(p.dir, 'lucid-gateway.config.yaml'), 'utf8')).toContain('services:');
  });
});

describe('token', () => {
  it('mints a JWT with the configured secret, issuer, audience and claims', async () => {
    const p = project({ 'lucid-gateway.config.yaml': valid });
    const r = await runCli(
      ['token', '--sub', 'user-1', '--tier', 'premium', '--scopes', 'read, write', '--ttl', '1h'],
      {
        cwd: p.dir,
        env: { JWT_SECRET_KEY: SECRET },
      },
    );
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const token = r.stdout.trim();
    expect(r.stdout).toBe(`${token}\n`);
    const { payload } = await jwtVerify(token, new TextEncoder().encode(SECRET), {
      issuer: 'lucid-auth',
      audience: 'lucid-api',
    });
    expect(payload).toMatchObject({ sub: 'user-1', tier: 'premium', scope: 'read write' });
    expect(payload.exp! - payload.iat!).toBe(3600);
    expect(decodeProtectedHeader(token).alg).toBe('HS256');
  });

  it('refuses when no HS secret is configured', async () => {
    const jwks = project({
      'lucid-gateway.config.yaml': `
services: { a: { targets: [http://127.0.0.1:1] } }
routes: [{ prefix: /a, service: a }]
auth: { jwt: { jwks: "http://127.0.0.1:1/jwks.json", issuer: i, audience: a } }
`,
    });
    const r = await runCli(['token', '--sub', 'u'], { cwd: jwks.dir });
    expect(r.code).toBe(1);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(/has no HS secret to sign with \(auth\.jwt\.secret\)/);
    const none = await runCli(['token', '--sub', 'u'], { cwd: project().dir });
    expect(none.code).toBe(1);
    expect(none.stderr).toMatch(/the embedded default has no HS secret/);
  });

  it('rejects a bad --ttl with the reason', async () => {
    const p = project({ 'lucid-gateway.config.yaml': valid });
    const r = await runCli(['token', '--sub', 'u', '--ttl', 'soon'], {
      cwd: p.dir,
      env: { JWT_SECRET_KEY: SECRET },
    });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/ttl: "soon" is not a duration/);
    expectReadable(r.stderr);
  });
});

describe('schema', () => {
  it('prints the JSON Schema that is committed as schema.json', async () => {
    const r = await runCli(['schema']);
    expect(r.code).toBe(0);
    const schema = JSON.parse(r.stdout);
    const committed = JSON.parse(readFileSync(new URL('../schema.json', import.meta.url), 'utf8'));
    // If this fails, regenerate it: pnpm --filter lucid-gateway build && pnpm --filter lucid-gateway schema
    expect(schema).toEqual(committed);
    expect(Object.keys(schema.properties)).toEqual(
      expect.arrayContaining(['server', 'services', 'routes', 'auth', 'rateLimit', 'mesh']),
    );
    expect(schema.properties.auth.properties.jwt.properties.secret.type).toBe('string');
    expect(schema.additionalProperties).toBe(false);
  });
});
