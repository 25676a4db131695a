import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { once } from 'node:events';
import {
  chmodSync,
  existsSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  realpathSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { send, startUpstream, type Upstream } from '@lucid/test-kit';
import { ensureBuilt } from '@lucid/test-kit/cli';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execForm, parseDockerfile } from './dockerfile.js';

const root = fileURLToPath(new URL('../../', import.meta.url));
const run = promisify(execFile);
const NONROOT = 65532;
const SECRET = 'bundle-test-secret-that-is-long-enough-for-hs256';
// The environment the container runs with: the Dockerfile's ENV, and HOME from distroless's passwd
// entry for 65532 (which this machine lacks, and without which os.homedir() throws).
const IMAGE_ENV = { NODE_ENV: 'production', HOME: '/home/nonroot' };

// The Dockerfile's entry point and healthcheck, to run against the bundle as the image would.
const runtime = parseDockerfile(`${root}Dockerfile`).stages.at(-1)!;
const entrypoint = execForm(runtime.instructions.findLast((i) => i.op === 'ENTRYPOINT')!.args)!;
const healthcheck = runtime.instructions.findLast((i) => i.op === 'HEALTHCHECK')!.args;

/** Everything a process started with setpriv as 65532 reads must be readable by others. */
function nonRootCommand(args: string[]): [string, string[]] {
  return [
    'setpriv',
    [
      `--reuid=${NONROOT}`,
      `--regid=${NONROOT}`,
      '--clear-groups',
      '--',
      realpathSync(process.execPath),
      ...args,
    ],
  ];
}

describe('the production bundle (what the image copies to /app)', () => {
  let scratch: string;
  let app: string;
  let upstream: Upstream;
  let gateway: ChildProcess | undefined;
  let exited: Promise<[number | null, NodeJS.Signals | null]>;
  let base: string;
  let port: number;
  let logs = '';

  beforeAll(async () => {
    scratch = mkdtempSync(join(tmpdir(), 'lucid-bundle-'));
    chmodSync(scratch, 0o755);
    app = join(scratch, 'app');
    // The image's builder runs the same script. Here the packages are built (when stale) under the
    // lock the CLI's tests share, so no two builds rewrite dist/ at once; the script then skips its own.
    await ensureBuilt();
    await run('bash', [`${root}scripts/bundle.sh`, app, '--skip-build'], {
      cwd: root,
      maxBuffer: 64 * 1024 * 1024,
    });

    upstream = await startUpstream();
    const config = join(scratch, 'gateway.yaml');
    writeFileSync(
      config,
      [
        'logging: { level: info, pretty: false }',
        'services:',
        `  echo: { targets: ["${upstream.url}"] }`,
        'routes:',
        '  - { prefix: /public, service: echo, auth: public }',
        '  - { prefix: /private, service: echo }',
        'auth:',
        // biome-ignore lint/suspicious/noTemplateCurlyInString: the config's own ${VAR} substitution
        '  jwt: { secret: "${JWT_SECRET_KEY}", algorithms: [HS256], issuer: lucid-auth, audience: lucid-api }',
        'rateLimit: { store: memory }',
        '',
      ].join('\n'),
    );
    chmodSync(config, 0o644);

    // Only what the image sets: no NODE_PATH, no workspace, a directory with no config of its own.
    const [cmd, args] = nonRootCommand([join(app, 'dist/bin.js'), 'start', '--config', config]);
    gateway = spawn(cmd, args, {
      cwd: scratch,
      env: { ...IMAGE_ENV, PORT: '0', JWT_SECRET_KEY: SECRET },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    exited = once(gateway, 'exit') as Promise<[number | null, NodeJS.Signals | null]>;
    gateway.stderr!.setEncoding('utf8').on('data', (c: string) => {
      logs += c;
    });
    port = await new Promise<number>((resolve, reject) => {
      gateway!.stdout!.setEncoding('utf8').on('data', (c: string) => {
        logs += c;
        const m = /"port":(\d+)[^\n]*"msg":"gateway listening"/.exec(logs);
        if (m) resolve(Number(m[1]));
      });
      exited.then(([code]) => reject(new Error(`the bundle exited (${code}) before listening:\n${logs}`)));
    });
    base = `http://127.0.0.1:${port}`;
  }, 300_000);

  afterAll(async () => {
    if (gateway && gateway.exitCode === null && gateway.signalCode === null) {
      gateway.kill('SIGKILL');
      await exited;
    }
    await upstream?.close();
    if (scratch) rmSync(scratch, { recursive: true, force: true });
  });

  it('holds the entry point the image runs, and no dev dependencies or native addons', () => {
    expect(entrypoint.at(-1)).toBe('/app/dist/bin.js');
    expect(existsSync(join(app, 'dist/bin.js'))).toBe(true);
    const installed = readdirSync(join(app, 'node_modules/.pnpm'));
    for (const dev of ['vitest@', 'tsup@', 'typescript@', '@biomejs+', 'fast-check@', 'esbuild@', 'ws@']) {
      expect(
        installed.filter((d) => d.startsWith(dev)),
        dev,
      ).toEqual([]);
    }
    for (const dep of ['@lucid+gateway-core@', 'jose@', 'ioredis@', 'undici@', 'pino@']) {
      expect(
        installed.some((d) => d.startsWith(dep)),
        dep,
      ).toBe(true);
    }
    const walk = (dir: string): string[] =>
      readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
        e.isDirectory() ? walk(join(dir, e.name)) : e.name.endsWith('.node') ? [join(dir, e.name)] : [],
      );
    expect(walk(app)).toEqual([]);
  });

  it('cannot borrow modules from outside itself (no node_modules above it)', () => {
    for (let dir = dirname(app); ; dir = dirname(dir)) {
      expect(existsSync(join(dir, 'node_modules')), dir).toBe(false);
      if (dir === dirname(dir)) break;
    }
  });

  it('runs as the non-root user 65532', () => {
    const status = readFileSync(`/proc/${gateway!.pid}/status`, 'utf8');
    expect(/^Uid:\s+(\d+)\s+(\d+)/m.exec(status)?.slice(1)).toEqual([String(NONROOT), String(NONROOT)]);
    expect(/^Gid:\s+(\d+)/m.exec(status)?.[1]).toBe(String(NONROOT));
  });

  it('answers /health and /health/live', async () => {
    const health = await send(`${base}/health`);
    expect(health.status).toBe(200);
    expect(health.json()).toMatchObject({ status: 'healthy', services: { echo: true } });
    expect((await send(`${base}/health/live`)).status).toBe(200);
  });

  it("passes the image's HEALTHCHECK command", async () => {
    const [, ...args] = execForm(healthcheck.slice(healthcheck.indexOf('CMD') + 3))!;
    const [cmd, argv] = nonRootCommand(args);
    const probe = spawn(cmd, argv, { env: { ...IMAGE_ENV, PORT: String(port) }, stdio: 'ignore' });
    const [code] = await once(probe, 'exit');
    expect(code).toBe(0);
  });

  it('routes a request to its upstream, prefix stripped and query kept', async () => {
    const before = upstream.seen.length;
    const res = await send(`${base}/public/hello?x=1`);
    expect(res.status).toBe(200);
    expect(res.json().url).toBe('/hello?x=1');
    expect(upstream.seen.length).toBe(before + 1);
  });

  it('refuses a protected route without a token (401) and never reaches the upstream', async () => {
    const before = upstream.seen.length;
    const res = await send(`${base}/private/data`);
    expect(res.status).toBe(401);
    expect(res.headers['www-authenticate']).toMatch(/^Bearer/);
    expect(res.headers['content-type']).toMatch(/application\/problem\+json/);
    expect(upstream.seen.length).toBe(before);
  });

  it("lets a token minted by the bundle's own `token` command through", async () => {
    const config = join(scratch, 'gateway.yaml');
    const [cmd, args] = nonRootCommand([
      join(app, 'dist/bin.js'),
      'token',
      '--config',
      config,
      '--sub',
      'user-1',
    ]);
    const { stdout } = await run(cmd, args, { cwd: scratch, env: { ...IMAGE_ENV, JWT_SECRET_KEY: SECRET } });
    const res = await send(`${base}/private/data`, { headers: { authorization: `Bearer ${stdout.trim()}` } });
    expect(res.status).toBe(200);
    expect(res.json<{ headers: Record<string, string> }>().headers['x-user-id']).toBe('user-1');
  });

  it('drains on SIGTERM and exits 0', async () => {
    gateway!.kill('SIGTERM');
    const [code, signal] = await exited;
    expect({ code, signal }).toEqual({ code: 0, signal: null });
    expect(logs).toMatch(/"msg":"stopped"/);
  });
});
