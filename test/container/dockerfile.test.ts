import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { fileURLToPath } from 'node:url';
import { freePort, serverCertificate } from '@lucid/test-kit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MALLOC_ENV, SEMI_SPACE_MB } from '../../packages/cli/src/run/v8-flags.js';
import {
  execForm,
  type Instruction,
  ignoredBy,
  parseDockerfile,
  readDockerignore,
  type Stage,
} from './dockerfile.js';

const root = fileURLToPath(new URL('../../', import.meta.url));
const dockerfile = parseDockerfile(`${root}Dockerfile`);
const runtime = dockerfile.stages.at(-1)!;
const builder = dockerfile.stages.find((s) => s.name === 'builder')!;

const all = (stage: Stage, op: string): Instruction[] => stage.instructions.filter((i) => i.op === op);
const last = (stage: Stage, op: string): Instruction | undefined => all(stage, op).at(-1);

describe('Dockerfile: builder stage', () => {
  it('builds on Node 24 with pnpm at the version package.json pins', () => {
    expect(builder).toBeDefined();
    expect(builder.image).toMatch(/^node:24[-.]/);
    const pinned = JSON.parse(readFileSync(`${root}package.json`, 'utf8')).packageManager as string;
    expect(pinned).toBe(`pnpm@${dockerfile.args.PNPM_VERSION}`);
  });

  it('runs on the build machine (no emulation), which is sound because the bundle has no native addons', () => {
    expect(builder.platform).toBe('$BUILDPLATFORM');
    expect(readFileSync(`${root}scripts/bundle.sh`, 'utf8')).toMatch(/-name '\*\.node'/);
  });

  it('installs from the lockfile and bundles with the same script the bundle test runs', () => {
    const runs = all(builder, 'RUN').map((r) => r.args);
    expect(runs.some((r) => /pnpm install --frozen-lockfile/.test(r))).toBe(true);
    expect(runs.some((r) => /scripts\/bundle\.sh \/out\b/.test(r))).toBe(true);
    expect(runs.some((r) => /--skip-build/.test(r))).toBe(false);
  });
});

describe('Dockerfile: runtime stage', () => {
  it('is distroless Node 24 and has no RUN (there is no shell to run it)', () => {
    expect(dockerfile.stages.length).toBeGreaterThanOrEqual(2);
    expect(runtime.image).toMatch(/^gcr\.io\/distroless\/nodejs24-debian\d+(:|@)/);
    expect(all(runtime, 'RUN')).toEqual([]);
  });

  it('runs as the numeric non-root user 65532', () => {
    const user = last(runtime, 'USER');
    expect(user?.args).toMatch(/^65532(:65532)?$/);
    // Nothing after the last USER switches back.
    expect(runtime.instructions.at(-1)?.line).toBeGreaterThan(user!.line);
    // Before it, only root (so WORKDIR creates its folder root-owned, whatever USER the base image sets).
    const users = all(runtime, 'USER');
    for (const earlier of users.slice(0, -1)) expect(earlier.args).toMatch(/^(0|root)(:(0|root))?$/);
    const workdir = last(runtime, 'WORKDIR');
    const rootBefore = users.filter((u) => u.line < workdir!.line).at(-1);
    expect(rootBefore?.args).toMatch(/^(0|root)(:(0|root))?$/);
  });

  it('copies the bundle root-owned and the ACME storage folder owned by the gateway, and starts it with node as PID 1', () => {
    const copies = all(runtime, 'COPY');
    expect(copies).toHaveLength(2);
    expect(copies[0]!.args).toMatch(/^--from=builder\b.*\s\/out \/app$/);
    expect(copies[0]!.args).toMatch(/--chown=0:0/);
    // The one folder the gateway's user may write: server.tls.acme's storage, a volume.
    expect(copies[1]!.args).toMatch(/^--from=builder\b.*--chown=65532:65532\s+\/data\/acme \/data\/acme$/);
    // The CLI's own young generation (no relaunch without a memory limit), and "--" before the script.
    expect(execForm(last(runtime, 'ENTRYPOINT')!.args)).toEqual([
      '/nodejs/bin/node',
      `--max-semi-space-size=${SEMI_SPACE_MB}`,
      '--',
      '/app/dist/bin.js',
    ]);
    expect(last(runtime, 'ENV')?.args).toMatch(
      new RegExp(`MALLOC_ARENA_MAX=${MALLOC_ENV.MALLOC_ARENA_MAX}\\b`),
    );
    expect(execForm(last(runtime, 'CMD')!.args)?.[0]).toBe('start');
    expect(last(runtime, 'STOPSIGNAL')?.args).toBe('SIGTERM');
  });

  it('exposes 8080 (the gateway, or the plain port beside ACME) and 8443, and runs in production mode', () => {
    expect(last(runtime, 'EXPOSE')?.args).toBe('8080 8443');
    expect(execForm(last(runtime, 'VOLUME')!.args)).toEqual(['/data/acme']);
    expect(last(runtime, 'ENV')?.args).toMatch(/NODE_ENV=production/);
  });

  it('checks health with node itself, never curl or wget', () => {
    const hc = last(runtime, 'HEALTHCHECK')!.args;
    const cmd = execForm(hc.slice(hc.indexOf('CMD') + 3))!;
    expect(cmd[0]).toBe('/nodejs/bin/node');
    expect(cmd[1]).toBe('-e');
    expect(hc).not.toMatch(/curl|wget|\/bin\/sh/);
    expect(hc).toMatch(/--timeout=\d+s/);
  });
});

describe('Dockerfile: the healthcheck command', () => {
  let server: Server;
  let port: number;
  let status = 200;
  const paths: string[] = [];

  beforeAll(async () => {
    server = createServer((req, res) => {
      paths.push(req.url ?? '');
      res.writeHead(req.url === '/health/live' ? status : 404).end();
    });
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    port = (server.address() as { port: number }).port;
  });
  afterAll(async () => {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });

  // The image's own command, run with this machine's node in place of /nodejs/bin/node.
  const probe = async (env: Record<string, string>): Promise<number | null> => {
    const hc = last(runtime, 'HEALTHCHECK')!.args;
    const [, ...args] = execForm(hc.slice(hc.indexOf('CMD') + 3))!;
    const child = spawn(process.execPath, args, {
      env: { PATH: process.env.PATH ?? '', ...env },
      stdio: 'ignore',
    });
    const [code] = (await once(child, 'exit')) as [number | null];
    return code;
  };

  it('passes when /health/live answers 200 on PORT', async () => {
    status = 200;
    expect(await probe({ PORT: String(port) })).toBe(0);
    expect(paths.at(-1)).toBe('/health/live');
  });

  it('fails when the gateway answers 503', async () => {
    status = 503;
    expect(await probe({ PORT: String(port) })).toBe(1);
  });

  it('fails when nothing listens', async () => {
    expect(await probe({ PORT: String(await freePort()) })).toBe(1);
  });

  it('asks over HTTPS when the gateway serves TLS on PORT (server.tls)', async () => {
    const cert = await serverCertificate();
    const tls = createHttpsServer(
      { cert: readFileSync(cert.certFile), key: readFileSync(cert.keyFile) },
      (req, res) => {
        res.writeHead(req.url === '/health/live' ? status : 404).end();
      },
    );
    tls.listen(0, '127.0.0.1');
    await once(tls, 'listening');
    try {
      status = 200;
      expect(await probe({ PORT: String((tls.address() as { port: number }).port) })).toBe(0);
      status = 503;
      expect(await probe({ PORT: String((tls.address() as { port: number }).port) })).toBe(1);
    } finally {
      tls.closeAllConnections();
      await new Promise<void>((resolve) => tls.close(() => resolve()));
      await cert.close();
    }
  });

  it('follows HEALTHCHECK_URL when the config moves the health endpoint', async () => {
    status = 200;
    expect(await probe({ HEALTHCHECK_URL: `http://127.0.0.1:${port}/health/live` })).toBe(0);
    expect(await probe({ HEALTHCHECK_URL: `http://127.0.0.1:${port}/elsewhere` })).toBe(1);
  });
});

describe('.dockerignore', () => {
  const patterns = readDockerignore(`${root}.dockerignore`);

  it('keeps what the builder needs in the context', () => {
    for (const file of [
      'package.json',
      'pnpm-lock.yaml',
      'pnpm-workspace.yaml',
      'tsconfig.base.json',
      'tsconfig.json',
      'scripts/bundle.sh',
      'packages/cli/package.json',
      'packages/cli/tsup.config.ts',
      'packages/cli/src/bin.ts',
      'packages/core/src/index.ts',
      'packages/core/src/config/schema.ts',
      'packages/middleware-auth/src/index.ts',
    ]) {
      expect(ignoredBy(patterns, file), file).toBe(false);
    }
  });

  it('leaves out installs, builds, secrets, tests and the repository', () => {
    for (const file of [
      'node_modules/.pnpm/lock.yaml',
      'packages/core/node_modules/zod/package.json',
      'packages/core/dist/index.js',
      '.git/HEAD',
      '.env',
      'examples/standalone/.env.core',
      'packages/core/src/routing/router.test.ts',
      'packages/cli/test/load.test.ts',
      'test/kit/src/net.ts',
      'bench/run.mjs',
      'examples/demo/run.mjs',
    ]) {
      expect(ignoredBy(patterns, file), file).toBe(true);
    }
  });
});
