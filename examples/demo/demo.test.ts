import { type ChildProcess, execFile, spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { connect } from 'node:net';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { until } from '@lucid/test-kit';
// Builds when a package's sources are newer than its dist/, under the lock the CLI's tests share.
import { ensureBuilt } from '@lucid/test-kit/cli';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { demoSteps, type DemoStep as Step } from './steps.mjs';

const root = fileURLToPath(new URL('../../', import.meta.url));
const READY = 'The gateway logs each request below.';

interface Demo {
  child: ChildProcess;
  /** Resolves once the demo has printed its steps (and `base` and `services` are known). */
  ready: Promise<void>;
  output(): string;
  base: string;
  services: string[];
  /** SIGINT, as Ctrl-C sends; resolves with the exit code. */
  stop(): Promise<number | null>;
}

/** Runs `node examples/demo/run.mjs` as `pnpm demo` does, on a free port. */
function launchDemo(): Demo {
  const child = spawn(process.execPath, ['examples/demo/run.mjs'], {
    cwd: root,
    env: { ...process.env, DEMO_PORT: '0' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  const exited = once(child, 'exit') as Promise<[number | null, NodeJS.Signals | null]>;
  child.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
    out += chunk;
  });
  child.stderr!.setEncoding('utf8').on('data', (chunk: string) => {
    out += chunk;
  });
  const demo: Demo = {
    child,
    ready: new Promise<void>((resolve, reject) => {
      const onData = () => {
        if (!out.includes(READY)) return;
        child.stdout!.off('data', onData);
        demo.base = /the gateway is on (http:\/\/[\d.]+:\d+),/.exec(out)![1]!;
        demo.services = [...out.matchAll(/^ {2}\w+\s+(http:\/\/[\d.]+:\d+)\s+\(stands in for/gm)].map(
          (m) => m[1]!,
        );
        resolve();
      };
      child.stdout!.on('data', onData);
      exited.then(([code]) => reject(new Error(`the demo exited (${code}) before it was ready:\n${out}`)));
    }),
    output: () => out,
    base: '',
    services: [],
    stop: async () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGINT');
      const [code] = await exited;
      return code;
    },
  };
  return demo;
}

/** True when something accepts a TCP connection at `url`. */
function listening(url: string): Promise<boolean> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve) => {
    const socket = connect(Number(port), hostname);
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

/** Stops the demo and checks it exits 0 and leaves no port open. */
async function stopCleanly(demo: Demo | undefined): Promise<void> {
  if (!demo) return;
  const code = await demo.stop();
  if (!demo.base) return; // never got ready: the failure is already reported
  expect(code).toBe(0);
  for (const url of [demo.base, ...demo.services]) expect(await listening(url), url).toBe(false);
}

describe('pnpm demo', () => {
  let demo: Demo | undefined;
  let steps: Step[];

  beforeAll(async () => {
    await ensureBuilt();
    demo = launchDemo();
    await demo.ready;
    steps = demoSteps(demo.base);
  }, 300_000);
  afterAll(() => stopCleanly(demo));

  it('is what `pnpm demo` runs', () => {
    const pkg = JSON.parse(readFileSync(`${root}package.json`, 'utf8'));
    expect(pkg.scripts.demo).toBe('node examples/demo/run.mjs');
  });

  it('starts five stand-in services and the gateway, each on its own port', async () => {
    expect(demo!.services).toHaveLength(5);
    expect(new Set([demo!.base, ...demo!.services]).size).toBe(6);
    for (const url of demo!.services) expect(await listening(url), url).toBe(true);
  });

  it('prints every step: its command and the answer it promises, in order', () => {
    const out = demo!.output();
    let from = 0;
    for (const [i, step] of steps.entries()) {
      const block = `# ${i + 1}. ${step.title}\n#    -> ${step.answer}\n${step.command}\n`;
      const at = out.indexOf(block, from);
      expect(at, `step ${i + 1} printed after step ${i}`).toBeGreaterThanOrEqual(from);
      from = at + block.length;
    }
    expect(steps.map((s) => s.command).join('\n')).toMatch(/\/health/);
  });

  it('serves /docs over the merged OpenAPI document of all five services', async () => {
    type Doc = {
      info: Record<string, unknown>;
      paths: Record<string, Record<string, { security?: unknown }>>;
    };
    const doc = await until(
      async () => (await (await fetch(`${demo!.base}/openapi.json`)).json()) as Doc,
      (d) => (d.info['x-unavailable-services'] as string[]).length === 0 && Object.keys(d.paths).length > 0,
    );
    for (const path of [
      '/auth/login',
      '/blockchain/blocks/latest',
      '/sessions',
      '/nodes/{id}',
      '/admin/stats',
    ])
      expect(doc.paths, path).toHaveProperty([path]);
    expect(doc.paths['/auth/login']!.post!.security).toEqual([]);
    expect(doc.paths['/admin/stats']!.get!.security).toEqual([{ gatewayBearer: ['admin'] }]);
    const page = await fetch(`${demo!.base}/docs`);
    expect(page.status).toBe(200);
    expect(await page.text()).toContain('swagger-ui-bundle.js');
    expect(demo!.output()).toContain(`${demo!.base}/docs`);
  });

  it('gives every answer it promises (the same requests made with fetch, in order)', async () => {
    const state: Record<string, string> = {};
    for (const [i, step] of steps.entries()) {
      await step.check(state).catch((err: Error) => {
        throw new Error(`step ${i + 1} (${step.title}): ${err.message}`);
      });
    }
  });
});

const hasCurl = spawnSync('curl', ['--version']).status === 0;

describe.skipIf(!hasCurl)('pnpm demo, pasted into a shell', () => {
  let demo: Demo | undefined;

  beforeAll(async () => {
    await ensureBuilt();
    demo = launchDemo();
    await demo.ready;
  }, 300_000);
  afterAll(() => stopCleanly(demo));

  it('every printed line, run by bash with curl, prints what its comment says', async () => {
    // The lines as printed: the one after each "#    -> answer" comment.
    const lines = demo!.output().split('\n');
    const commands = lines.flatMap((l, i) => (l.startsWith('#    -> ') ? [lines[i + 1]!] : []));
    const steps: Step[] = demoSteps(demo!.base);
    expect(commands).toEqual(steps.map((s) => s.command));

    const marker = (i: number) => `@@step ${i}@@`;
    const script = commands.map((c, i) => `echo '${marker(i)}'\n${c}\necho`).join('\n');
    const { stdout } = await promisify(execFile)('bash', ['-c', script], { timeout: 60_000 });
    steps.forEach((step, i) => {
      const start = stdout.indexOf(marker(i)) + marker(i).length;
      const end = i + 1 < steps.length ? stdout.indexOf(marker(i + 1)) : stdout.length;
      const printed = stdout.slice(start, end);
      for (const re of step.shell) expect(printed, `step ${i + 1} (${step.title})`).toMatch(re);
    });
  });
});
