import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import { freePort } from '@lucid/test-kit';
import { REPO_DIR } from '@lucid/test-kit/cli';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { commandsOf, type DocBlock, documentationBlocks } from './markdown-blocks.js';

/**
 * A newcomer's first hour, as the README writes it: a fresh clone of this commit (what is committed,
 * not the working tree), the README's setup, then each tour command in order, every one exiting 0.
 * Then every other runnable shell block of the docs, from its document's folder in the same clone.
 *
 * Each command runs in its own bash, with the variables the earlier ones exported (the tour exports
 * the secret first, as a reader's shell keeps it). A command ending in `&` is started in the
 * background and awaited on its "gateway listening" line; `kill %1` stops it. The gateway listens on
 * a free port (PORT, which overrides the config), and the commands' `localhost:8080` follows it.
 */

const run = promisify(execFile);
const BACKGROUND = /(?<!&)&\s*(#.*)?$/;

interface Step {
  command: string;
  code: number | null;
  stdout: string;
  stderr: string;
}

describe('the README, followed in a fresh clone', () => {
  const tmp = mkdtempSync(join(tmpdir(), 'lucid-readme-'));
  const clone = join(tmp, 'lucid-gateway');
  const state = join(tmp, 'shell-state.sh');
  let port = 0;
  let env: NodeJS.ProcessEnv = {};
  let background:
    | { child: ChildProcess; pid: number; exited: Promise<unknown[]>; log: () => string }
    | undefined;
  const steps: Step[] = [];

  beforeAll(async () => {
    await run('git', ['clone', '--quiet', REPO_DIR, clone], { timeout: 60_000 });
    port = await freePort();
    writeFileSync(state, '');
    // The machine's own settings (PATH with node and pnpm, HOME with pnpm's store, CA certificates),
    // none of the outer pnpm's npm_* ones. The packages come from the local store when it has them.
    env = {
      ...Object.fromEntries(
        Object.entries(process.env).filter(([k]) => !/^(npm_|pnpm_|INIT_CWD|VITEST|PORT$)/i.test(k)),
      ),
      npm_config_prefer_offline: 'true',
      PORT: String(port),
    };
  }, 120_000);

  afterAll(async () => {
    if (background && background.child.exitCode === null) {
      try {
        process.kill(background.pid, 'SIGTERM');
      } catch {}
      await background.exited;
    }
    rmSync(tmp, { recursive: true, force: true });
  });

  const forThisMachine = (command: string) => command.replaceAll('localhost:8080', `localhost:${port}`);

  /** One command in bash, in `cwd`, with the state the earlier commands exported. */
  async function sh(command: string, cwd: string, timeoutMs: number): Promise<Step> {
    if (/^kill %1(\s|$)/.test(command)) return stopBackground(command);
    if (BACKGROUND.test(command)) return startBackground(command, cwd);
    const script = `set -a\n. "${state}"\n${forThisMachine(command)}\n__rc=$?\nexport -p | grep -vE '^declare -x (PWD|OLDPWD|SHLVL|_)=' > "${state}"\nexit $__rc\n`;
    const child = spawn('bash', ['-c', script], { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => {
      stdout += c.toString();
    });
    child.stderr.on('data', (c: Buffer) => {
      stderr += c.toString();
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    const [code] = (await once(child, 'close')) as [number | null];
    clearTimeout(timer);
    const step = { command, code, stdout, stderr };
    steps.push(step);
    return step;
  }

  async function startBackground(command: string, cwd: string): Promise<Step> {
    const foreground = forThisMachine(command).replace(BACKGROUND, '');
    const started = performance.now();
    const child = spawn('bash', ['-c', `set -a\n. "${state}"\nexec ${foreground}`], {
      cwd,
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const exited = once(child, 'close');
    let log = '';
    const listening = new Promise<Record<string, unknown>>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`"${command}" did not listen within 60 s:\n${log}`)),
        60_000,
      );
      child.stdout.on('data', (c: Buffer) => {
        log += c.toString();
        const line = log
          .split('\n')
          .filter((l) => l.startsWith('{'))
          .map((l) => JSON.parse(l) as Record<string, unknown>)
          .find((l) => l.msg === 'gateway listening');
        if (line) {
          clearTimeout(timer);
          resolve(line);
        }
      });
      child.stderr.on('data', (c: Buffer) => {
        log += c.toString();
      });
      exited.then(() => reject(new Error(`"${command}" exited first:\n${log}`)));
    });
    const line = await listening;
    const ms = Math.round(performance.now() - started);
    console.log(`README tour: "${command.replace(/\s+#.*/, '')}" listened ${ms} ms after the command`);
    // The gateway's own pid is on its first log line (pnpm and bash stand between it and us).
    const first = JSON.parse(log.split('\n').find((l) => l.includes('"pid"'))!) as { pid: number };
    background = { child, pid: first.pid, exited, log: () => log };
    const step = { command, code: 0, stdout: JSON.stringify(line), stderr: '' };
    steps.push(step);
    return step;
  }

  async function stopBackground(command: string): Promise<Step> {
    if (!background) throw new Error('"kill %1" with nothing in the background');
    process.kill(background.pid, 'SIGTERM');
    const [code] = (await background.exited) as [number | null];
    const step = { command, code, stdout: background.log(), stderr: '' };
    steps.push(step);
    return step;
  }

  const blocks = documentationBlocks(REPO_DIR);
  const readme = (mode: DocBlock['mode']) => blocks.find((b) => b.file === 'README.md' && b.mode === mode)!;

  it('the setup: each command exits 0', async () => {
    for (const command of commandsOf(readme('setup').text)) {
      const step = await sh(command, clone, 240_000);
      expect(step.code, `${command}\n${step.stdout}${step.stderr}`).toBe(0);
    }
  }, 300_000);

  it('the tour: each command exits 0, in order, with the secret exported first', async () => {
    const commands = commandsOf(readme('tour').text);
    expect(commands[0]).toMatch(/^export JWT_SECRET_KEY=/);
    for (const command of commands) {
      const step = await sh(command, clone, 240_000);
      expect(step.code, `${command}\n${step.stdout}${step.stderr}`).toBe(0);
    }
    const cli = steps.filter((s) => /^pnpm (-s )?lucid-gateway /.test(s.command));
    // The first CLI command builds the fresh clone (and says so); none after it builds again.
    expect(cli[0]!.stderr).toMatch(/lucid-gateway: building .* \(sources changed since the last build\)/);
    for (const s of cli.slice(1)) expect(s.stderr, s.command).not.toMatch(/building/);
    // What the README's comments promise.
    const out = (re: RegExp) => steps.find((s) => re.test(s.command))!.stdout;
    expect(out(/lucid-gateway validate/)).toMatch(/lucid-gateway\.config\.yaml/);
    expect(out(/lucid-gateway routes/)).toMatch(/\/admin/);
    // TOKEN=$(...) kept the token (and only the token) for the lines after it.
    expect(readFileSync(state, 'utf8')).toMatch(/^declare -x TOKEN="[\w-]+\.[\w-]+\.[\w-]+"$/m);
    expect(out(/admin\/users/)).toMatch(/^HTTP\/1\.1 50[23] /);
    // The starter config has an admin port: the public /health is a summary, the detail is on the admin port.
    expect(out(/8080\/health/)).toMatch(/^\{"status":"\w+",/);
    expect(out(/8080\/health/)).not.toMatch(/"services"/);
    expect(out(/9901\/health/)).toMatch(/^\{"status":"\w+",.*"services":\{"auth":(true|false),/);
    expect(out(/\/metrics/)).toMatch(/^# HELP /m);
    // Off a terminal the gateway logs JSON lines, one per request, and drains on `kill %1`.
    const gatewayLog = out(/^kill %1/);
    expect(gatewayLog).toMatch(/^\{"level":"info".*"path":"\/admin\/users".*"msg":"request"\}$/m);
    expect(gatewayLog).toMatch(/"msg":"stopped"/);
  }, 360_000);

  it('every other runnable shell block of the docs exits 0, from its own folder', async () => {
    const runnable = blocks.filter((b) => b.kind === 'shell' && b.mode === 'run');
    expect(runnable.length).toBeGreaterThan(0);
    for (const block of runnable) {
      for (const command of commandsOf(block.text)) {
        const step = await sh(command, join(clone, dirname(block.file)), 120_000);
        expect(step.code, `${block.file}:${block.line}: ${command}\n${step.stdout}${step.stderr}`).toBe(0);
      }
    }
  }, 300_000);
});
