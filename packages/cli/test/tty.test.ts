import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { stripVTControlCharacters } from 'node:util';
import { startUpstream } from '@lucid/test-kit';
import { BIN, cleanEnv, ensureBuilt, tempProject } from '@lucid/test-kit/cli';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { get } from './support/http.js';

// util-linux `script` gives the CLI a real terminal (a pty) as stdout, as a person's shell does.
const hasScript = spawnSync('script', ['--version']).status === 0;
const plain = (s: string) => stripVTControlCharacters(s).replace(/\r/g, '');

/** Every process below `pid`, children first (from /proc). */
function descendants(pid: number): number[] {
  let kids: number[];
  try {
    kids = readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').split(/\s+/).filter(Boolean).map(Number);
  } catch {
    return [];
  }
  return kids.flatMap((k) => [k, ...descendants(k)]);
}

const cleanups: Array<() => unknown> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});
beforeAll(ensureBuilt, 180_000);

/** The CLI on a terminal; `text()` is what the person would see, colors stripped. */
function onTerminal(args: string[], cwd: string) {
  const command = [process.execPath, BIN, ...args].map((a) => `'${a}'`).join(' ');
  const child: ChildProcess = spawn('script', ['-qfec', command, '/dev/null'], {
    cwd,
    env: cleanEnv({ TERM: 'xterm' }),
    stdio: ['pipe', 'pipe', 'pipe'],
    detached: true,
  });
  let raw = '';
  const waiters: Array<() => void> = [];
  child.stdout!.on('data', (c: Buffer) => {
    raw += c.toString();
    for (const w of waiters.splice(0)) w();
  });
  const closed = once(child, 'close');
  cleanups.push(async () => {
    if (child.exitCode === null && child.signalCode === null) {
      // `script` runs the CLI in a session of its own on the pty, out of reach of a signal to the
      // group, and the gateway takes the hang-up as "reload": it is stopped by its pid.
      for (const pid of descendants(child.pid!)) {
        try {
          process.kill(pid, 'SIGTERM');
        } catch {}
      }
      await closed;
    }
  });
  const text = () => plain(raw);
  /** Resolves with the first match of `re` in what was printed so far or later (a deadline, not a sleep). */
  const waitFor = (re: RegExp, ms = 20_000) =>
    new Promise<RegExpMatchArray>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no ${re} within ${ms}ms:\n${text()}`)), ms);
      const check = () => {
        const m = text().match(re);
        if (m) {
          clearTimeout(timer);
          resolve(m);
        } else waiters.push(check);
      };
      check();
    });
  return { child, text, raw: () => raw, waitFor, closed };
}

describe.skipIf(!hasScript)('logs on a terminal', () => {
  it('are one compact, colored line per request, not JSON and not a block of fields', async () => {
    const u = await startUpstream();
    cleanups.push(() => u.close());
    const p = tempProject({
      'x.yaml': `server: { host: 127.0.0.1, port: 0 }
services: { echo: { targets: ["${u.url}"] } }
routes: [{ prefix: /echo, service: echo, auth: public }]
`,
    });
    cleanups.push(() => p.cleanup());
    const cli = onTerminal(['start', '--config', 'x.yaml'], p.dir);
    const [, port] = await cli.waitFor(/gateway listening.*"port":(\d+)/);
    for (const path of ['/echo/a', '/echo/b', '/nowhere']) await get(`http://127.0.0.1:${port}${path}`);
    await cli.waitFor(/GET \/nowhere 404/);
    const requests = cli
      .text()
      .split('\n')
      .filter((l) => /\bGET \//.test(l));
    expect(requests).toHaveLength(3);
    expect(requests[0]).toMatch(/INFO.*GET \/echo\/a 200 [\d.]+ms -> \S+ \(req [\w-]+\)$/);
    expect(requests[2]).toMatch(/GET \/nowhere 404 [\d.]+ms \(req [\w-]+\)$/);
    expect(cli.text()).not.toMatch(/^\s*\{"level"/m);
    expect(cli.text()).not.toMatch(/^\s+(reqId|method|status): /m);
    // Colored on a terminal: the status by its class.
    expect(cli.raw()).toContain('\x1b[32m200');
    expect(cli.raw()).toContain('\x1b[33m404');
  }, 60_000);
});
