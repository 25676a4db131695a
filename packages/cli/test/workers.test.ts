import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startUpstream } from '@lucid/test-kit';
import { CliProcess, ensureBuilt, type LogLine, runCli, tempProject } from '@lucid/test-kit/cli';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { get } from './support/http.js';

const cleanups: Array<() => unknown> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});
beforeAll(ensureBuilt, 180_000);

async function setup(workers: number, extraArgs: string[] = []) {
  const u = await startUpstream((_req, res) => res.end('ok'));
  cleanups.push(() => u.close());
  const p = tempProject({
    'gw.yaml': `server: { host: 127.0.0.1, port: 0 }
services: { echo: { targets: ["${u.url}"] } }
routes: [{ prefix: /echo, service: echo, auth: public }]
`,
  });
  cleanups.push(() => p.cleanup());
  const cli = new CliProcess(['start', '--config', 'gw.yaml', '--workers', String(workers), ...extraArgs], {
    cwd: p.dir,
  });
  cleanups.push(() => cli.stop());
  return { cli, dir: p.dir };
}

/** Resolves with the "gateway listening" lines once `n` distinct workers have logged one. */
async function listening(cli: CliProcess, n: number, except: Set<unknown> = new Set()): Promise<LogLine[]> {
  const found = new Map<unknown, LogLine>();
  const collect = (l: LogLine) => {
    if (l.msg === 'gateway listening' && !except.has(l.worker)) found.set(l.worker, l);
    return found.size >= n;
  };
  for (const l of cli.lines) collect(l);
  if (found.size < n) await cli.waitFor((l) => collect(l), 30_000);
  return [...found.values()];
}

describe('--workers', () => {
  it('runs N workers answering on one port, and drains them all on SIGTERM', async () => {
    const { cli } = await setup(2);
    const lines = await listening(cli, 2);
    const ports = new Set(lines.map((l) => l.port));
    expect(ports.size).toBe(1);
    const port = [...ports][0];
    expect(cli.lines[0]).toMatchObject({
      role: 'primary',
      workers: 2,
      msg: 'starting 2 workers on 127.0.0.1:0',
    });

    // Fresh connections, handed out round-robin by the primary, until both workers have answered.
    const answeredBy = new Set<unknown>();
    for (let i = 0; i < 100 && answeredBy.size < 2; i++) {
      const res = await get(`http://127.0.0.1:${port}/echo/${i}`, { agent: false });
      expect(res).toMatchObject({ status: 200, body: 'ok' });
      const access = await cli.waitFor((l) => l.msg === 'request' && l.path === `/echo/${i}`);
      answeredBy.add(access.worker);
    }
    expect(answeredBy).toEqual(new Set(lines.map((l) => l.worker)));

    cli.signal('SIGTERM');
    expect(await cli.exited).toBe(0);
    expect(
      cli.lines
        .filter((l) => l.msg === 'stopped')
        .map((l) => l.worker)
        .sort(),
    ).toEqual(lines.map((l) => l.worker).sort());
    expect(cli.lines.at(-1)).toMatchObject({ role: 'primary', msg: 'all workers exited', failed: false });
  });

  it('forwards SIGHUP: every worker reloads', async () => {
    const { cli } = await setup(2);
    const lines = await listening(cli, 2);
    const reloaded = new Set<unknown>();
    const both = cli.next((l) => {
      if (l.msg === 'config reloaded') reloaded.add(l.worker);
      return reloaded.size === 2;
    });
    cli.signal('SIGHUP');
    await both;
    expect(reloaded).toEqual(new Set(lines.map((l) => l.worker)));
  });

  it('with --watch, the primary watches the file and every worker reloads', async () => {
    const { cli, dir } = await setup(2, ['--watch']);
    await listening(cli, 2);
    const reloaded = new Set<unknown>();
    const both = cli.next((l) => {
      if (l.msg === 'config reloaded') reloaded.add(l.worker);
      return reloaded.size === 2;
    });
    // Each process writes its log on its own schedule: wait for the primary's line itself.
    const asked = cli.next((l) => l.msg === 'asking every worker to reload');
    const text = readFileSync(join(dir, 'gw.yaml'), 'utf8');
    writeFileSync(join(dir, 'gw.yaml'), text.replace('prefix: /echo', 'prefix: /echo2'));
    await both;
    expect(await asked).toMatchObject({ reason: 'watch' });
  });

  it('restarts a worker that dies, and keeps answering', async () => {
    const { cli } = await setup(2);
    const lines = await listening(cli, 2);
    const victim = lines[0]!;
    const restarted = cli.next((l) => l.msg === 'worker exited unexpectedly; restarting it');
    process.kill(victim.pid as number, 'SIGTERM');
    expect(await restarted).toMatchObject({ worker: victim.worker, exitCode: 0, restartInMs: 250 });
    const [fresh] = await listening(cli, 1, new Set(lines.map((l) => l.worker)));
    expect(fresh!.pid).not.toBe(victim.pid);
    expect((await get(`http://127.0.0.1:${fresh!.port}/echo/`, { agent: false })).status).toBe(200);
  });

  it('checks the config once, in the primary, before forking', async () => {
    const p = tempProject({ 'gw.yaml': 'routes: [{ prefix: /x, service: nope }]\n' });
    cleanups.push(() => p.cleanup());
    const r = await runCli(['start', '--config', 'gw.yaml', '--workers', '3'], { cwd: p.dir });
    expect(r.code).toBe(1);
    expect(r.stdout).toBe('');
    expect(r.stderr.match(/unknown service "nope"/g)).toHaveLength(1);
  });
});
