import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { startUpstream, type Upstream } from '@lucid/test-kit';
import { CliProcess, ensureBuilt, REPO_DIR, tempProject } from '@lucid/test-kit/cli';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { get } from './support/http.js';

const run = promisify(execFile);
const PACKAGES = [
  'core',
  'middleware-auth',
  'middleware-ratelimit',
  'middleware-cache',
  'mesh-consul',
  'openapi',
  'dashboard',
  'acme',
  'tracing',
  'cli',
];

describe('the packed packages, installed from tarballs into an empty project', () => {
  const tmp = tempProject();
  const app = join(tmp.dir, 'app');
  let upstream: Upstream;
  let cli: CliProcess | undefined;
  let tarballs: string[] = [];
  /** Each tarball unpacked: its package.json and the path of its folder. */
  const unpacked = () =>
    tarballs.map((tgz) => {
      const dir = join(tmp.dir, 'unpacked', tgz.replace(/^.*\//, '').replace(/\.tgz$/, ''), 'package');
      return { tgz, dir, pkg: JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) };
    });

  beforeAll(async () => {
    await ensureBuilt();
    for (const pkg of PACKAGES) {
      await run('pnpm', ['pack', '--pack-destination', tmp.dir], {
        cwd: join(REPO_DIR, 'packages', pkg),
        timeout: 60_000,
      });
    }
    tarballs = readdirSync(tmp.dir)
      .filter((f) => f.endsWith('.tgz'))
      .map((f) => join(tmp.dir, f));
    expect(tarballs).toHaveLength(PACKAGES.length);
    for (const tgz of tarballs) {
      const into = join(tmp.dir, 'unpacked', tgz.replace(/^.*\//, '').replace(/\.tgz$/, ''));
      mkdirSync(into, { recursive: true });
      await run('tar', ['xzf', tgz, '-C', into]);
    }
    await run('mkdir', [app]);
    writeFileSync(join(app, 'package.json'), JSON.stringify({ name: 'app', private: true }));
    // npm gets this machine's own settings (proxy, CA certificates), but none of pnpm's npm_* ones.
    const npmEnv = Object.fromEntries(Object.entries(process.env).filter(([k]) => !/^npm_/i.test(k)));
    // Bounded: should the registry not answer, npm is ended rather than left behind. One retry for a
    // passing registry fault; a second failure shows npm's own output.
    const install = () =>
      run('npm', ['install', '--no-audit', '--no-fund', '--loglevel=error', ...tarballs], {
        cwd: app,
        env: npmEnv,
        timeout: 120_000,
      });
    await install()
      .catch(install)
      .catch((err: { message: string; stdout?: string; stderr?: string }) => {
        throw new Error(`${err.message}\n${err.stdout ?? ''}${err.stderr ?? ''}`);
      });
    upstream = await startUpstream();
  }, 300_000);

  // npx does not pass signals on to the command it runs: the gateway is stopped by its own pid,
  // which its first log line gives.
  const gatewayPid = () => cli?.lines.find((l) => typeof l.pid === 'number')?.pid as number | undefined;

  afterAll(async () => {
    const pid = gatewayPid();
    if (pid !== undefined && cli?.child.exitCode === null) {
      try {
        process.kill(pid, 'SIGTERM');
      } catch {}
    }
    await cli?.stop();
    await upstream?.close();
    tmp.cleanup();
  });

  it('installs one copy of each package, with the CLI bin and its schema', () => {
    const nested = join(app, 'node_modules', 'lucid-gateway', 'node_modules', '@lucid');
    expect(existsSync(nested)).toBe(false);
    const core = JSON.parse(readFileSync(join(app, 'node_modules/@lucid/gateway-core/package.json'), 'utf8'));
    const ours = JSON.parse(readFileSync(join(REPO_DIR, 'packages/core/package.json'), 'utf8'));
    expect(core.version).toBe(ours.version);
    expect(existsSync(join(app, 'node_modules/.bin/lucid-gateway'))).toBe(true);
    expect(existsSync(join(app, 'node_modules/lucid-gateway/schema.json'))).toBe(true);
  });

  it('each tarball carries the LICENSE, README and publishing metadata', () => {
    const license = readFileSync(join(REPO_DIR, 'LICENSE'), 'utf8');
    expect(license).toMatch(/^MIT License\n\nCopyright \(c\) 2026 Lucid Gateway contributors\n/);
    for (const { dir, pkg } of unpacked()) {
      expect(readFileSync(join(dir, 'LICENSE'), 'utf8'), pkg.name).toBe(license);
      expect(existsSync(join(dir, 'README.md')), `${pkg.name} README.md`).toBe(true);
      expect(pkg, pkg.name).toMatchObject({
        license: 'MIT',
        repository: {
          type: 'git',
          url: expect.stringMatching(/^git\+https:\/\/.+\.git$/),
          directory: expect.any(String),
        },
        homepage: expect.stringMatching(/^https:\/\//),
        bugs: { url: expect.stringMatching(/^https:\/\//) },
        keywords: expect.arrayContaining(['lucid-gateway']),
        engines: { node: expect.any(String) },
      });
      expect(pkg.sideEffects, `${pkg.name} sideEffects`).toBeDefined();
      // Published manifests name versions, never the workspace protocol.
      expect(JSON.stringify(pkg), pkg.name).not.toContain('workspace:');
    }
  });

  it('ships source maps without embedded sources, and no sources or tests', () => {
    for (const { dir, pkg } of unpacked()) {
      const files = readdirSync(dir, { recursive: true }).map(String);
      expect(
        files.filter((f) => /(^|\/)(src|test)\/|\.test\.|\.ts$/.test(f) && !/\.d\.c?ts$/.test(f)),
        pkg.name,
      ).toEqual([]);
      const maps = files.filter((f) => f.endsWith('.map'));
      expect(maps.length, pkg.name).toBeGreaterThan(0);
      for (const map of maps) {
        expect(JSON.parse(readFileSync(join(dir, map), 'utf8')), `${pkg.name} ${map}`).not.toHaveProperty(
          'sourcesContent',
        );
      }
    }
  });

  it('installs nothing that runs an install script or phones home (no @scarf/scarf)', async () => {
    const lifecycle = ['preinstall', 'install', 'postinstall'];
    const withScripts: string[] = [];
    const walk = (dir: string) => {
      for (const entry of readdirSync(dir, { withFileTypes: true })) {
        if (!entry.isDirectory() || entry.name === '.bin') continue;
        const pkgDir = join(dir, entry.name);
        if (entry.name.startsWith('@')) {
          walk(pkgDir);
          continue;
        }
        const manifest = join(pkgDir, 'package.json');
        if (existsSync(manifest)) {
          const pkg = JSON.parse(readFileSync(manifest, 'utf8'));
          if (lifecycle.some((s) => pkg.scripts?.[s]) || pkg.gypfile) withScripts.push(pkg.name);
        }
        if (existsSync(join(pkgDir, 'node_modules'))) walk(join(pkgDir, 'node_modules'));
      }
    };
    walk(join(app, 'node_modules'));
    expect(withScripts).toEqual([]);
    expect(existsSync(join(app, 'node_modules/@scarf'))).toBe(false);
    const npmEnv = Object.fromEntries(Object.entries(process.env).filter(([k]) => !/^npm_/i.test(k)));
    const ls = await run('npm', ['ls', '--all', '--json'], { cwd: app, env: npmEnv, timeout: 60_000 });
    expect(ls.stdout).not.toContain('@scarf/scarf');
  });

  it("keeps the API reference's and the dashboard's dependencies out of core", () => {
    const core = unpacked().find((u) => u.pkg.name === '@lucid/gateway-core')!.pkg;
    for (const dep of ['swagger-ui-dist', 'openapi-merge', 'yaml', '@fastify/swagger-ui']) {
      expect(core.dependencies, dep).not.toHaveProperty(dep);
    }
  });

  it('keeps pretty printing out of what an embedding app installs', () => {
    const core = unpacked().find((u) => u.pkg.name === '@lucid/gateway-core')!.pkg;
    expect(core.dependencies).not.toHaveProperty('pino-pretty');
    expect(core.peerDependenciesMeta).toMatchObject({ 'pino-pretty': { optional: true } });
    const cliPkg = unpacked().find((u) => u.pkg.name === 'lucid-gateway')!.pkg;
    expect(cliPkg.optionalDependencies).toHaveProperty('pino-pretty');
  });

  it('publint finds nothing to fix in any tarball (warnings count)', async () => {
    for (const tgz of tarballs) {
      const r = await run('pnpm', ['exec', 'publint', 'run', '--strict', tgz], {
        cwd: REPO_DIR,
        timeout: 60_000,
      });
      expect(r.stdout, tgz).toMatch(/All good!/);
    }
  }, 120_000);

  it('are the types wrong? (attw): every entry point resolves with types, ESM and CJS', async () => {
    for (const tgz of tarballs) {
      const r = await run('pnpm', ['exec', 'attw', '--format', 'ascii', '--no-color', tgz], {
        cwd: REPO_DIR,
        timeout: 60_000,
      }).catch((e: { stdout: string; message: string }) => {
        throw new Error(`attw ${tgz}:\n${e.stdout ?? e.message}`);
      });
      expect(r.stdout, tgz).toMatch(/No problems found/);
    }
  }, 120_000);

  it('`npx lucid-gateway start --config x.yaml` serves traffic', async () => {
    writeFileSync(
      join(app, 'x.yaml'),
      `server: { host: 127.0.0.1, port: 0 }
services: { echo: { targets: ["${upstream.url}"] } }
routes: [{ prefix: /echo, service: echo, auth: public }]
`,
    );
    cli = new CliProcess(['start', '--config', 'x.yaml'], {
      cwd: app,
      command: ['npx', '--no-install', 'lucid-gateway'],
    });
    const port = await cli.port();
    const res = await get(`http://127.0.0.1:${port}/echo/through?q=1`);
    expect(res.status).toBe(200);
    expect(JSON.parse(res.body)).toMatchObject({ method: 'GET', url: '/through?q=1' });
    expect(upstream.seen).toHaveLength(1);
    // The API reference comes assembled, its page and Swagger UI's files from the installed packages.
    const docs = await get(`http://127.0.0.1:${port}/docs`);
    expect(docs.status).toBe(200);
    expect(docs.body).toContain('/docs/assets/swagger-ui-bundle.js');
    const bundle = await get(`http://127.0.0.1:${port}/docs/assets/swagger-ui-bundle.js`);
    expect(bundle.status).toBe(200);
    expect(bundle.body).toContain('SwaggerUIBundle');
    process.kill(gatewayPid()!, 'SIGTERM');
    await cli.waitFor('stopped');
    expect(await cli.exited).toBe(0);
  }, 60_000);
});
