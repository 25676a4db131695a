import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BIN } from './build.js';

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** A clean environment: the outer PORT, LOG_LEVEL, JWT_SECRET_KEY, ... never leak into a test. */
export function cleanEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { PATH: process.env.PATH, HOME: process.env.HOME, ...extra };
  return env;
}

/** Runs a command of the built CLI to its end. */
export async function runCli(
  args: string[],
  opts: { cwd?: string; env?: Record<string, string> } = {},
): Promise<CliResult> {
  const child = spawn(process.execPath, [BIN, ...args], {
    cwd: opts.cwd,
    env: cleanEnv(opts.env),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (c: Buffer) => {
    stdout += c.toString();
  });
  child.stderr.on('data', (c: Buffer) => {
    stderr += c.toString();
  });
  const [code] = (await once(child, 'close')) as [number | null];
  return { code, stdout, stderr };
}

export type LogLine = Record<string, unknown> & { msg?: string; level?: string };

interface Waiter {
  match: (line: LogLine) => boolean;
  resolve: (line: LogLine) => void;
  reject: (err: Error) => void;
  timer: NodeJS.Timeout;
}

/**
 * A long-running CLI (`start`) whose JSON log lines are parsed from stdout as they come, so a
 * test can wait for "gateway listening" or "config reloaded" instead of sleeping.
 */
export class CliProcess {
  readonly child: ChildProcess;
  readonly lines: LogLine[] = [];
  stderr = '';
  /** stdout lines that were not JSON (there should be none). */
  readonly other: string[] = [];
  readonly exited: Promise<number | null>;
  #waiters = new Set<Waiter>();
  #buffer = '';

  constructor(
    args: string[],
    opts: { cwd?: string; env?: Record<string, string>; command?: [string, ...string[]] } = {},
  ) {
    const [cmd, ...pre] = opts.command ?? [process.execPath, BIN];
    this.child = spawn(cmd, [...pre, ...args], {
      cwd: opts.cwd,
      env: cleanEnv(opts.env),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.child.stdout!.on('data', (chunk: Buffer) => this.#onData(chunk));
    this.child.stderr!.on('data', (chunk: Buffer) => {
      this.stderr += chunk.toString();
    });
    this.exited = once(this.child, 'close').then(([code]) => {
      for (const w of this.#waiters) {
        clearTimeout(w.timer);
        w.reject(new Error(`the CLI exited (${code}) first\n${this.transcript()}`));
      }
      this.#waiters.clear();
      return code as number | null;
    });
  }

  #onData(chunk: Buffer): void {
    this.#buffer += chunk.toString();
    let nl = this.#buffer.indexOf('\n');
    while (nl >= 0) {
      const text = this.#buffer.slice(0, nl);
      this.#buffer = this.#buffer.slice(nl + 1);
      nl = this.#buffer.indexOf('\n');
      if (!text.trim()) continue;
      let line: LogLine;
      try {
        line = JSON.parse(text) as LogLine;
      } catch {
        this.other.push(text);
        continue;
      }
      this.lines.push(line);
      for (const w of this.#waiters) {
        if (!w.match(line)) continue;
        clearTimeout(w.timer);
        this.#waiters.delete(w);
        w.resolve(line);
      }
    }
  }

  /** The first line (already seen or still to come) that matches. */
  waitFor(match: string | ((line: LogLine) => boolean), timeoutMs = 20_000): Promise<LogLine> {
    const test = typeof match === 'string' ? (l: LogLine) => l.msg === match : match;
    const seen = this.lines.find(test);
    if (seen) return Promise.resolve(seen);
    return this.#wait(test, timeoutMs);
  }

  /** The next line from now on that matches (ignoring ones already seen). */
  next(match: string | ((line: LogLine) => boolean), timeoutMs = 20_000): Promise<LogLine> {
    const test = typeof match === 'string' ? (l: LogLine) => l.msg === match : match;
    return this.#wait(test, timeoutMs);
  }

  #wait(match: (l: LogLine) => boolean, timeoutMs: number): Promise<LogLine> {
    if (this.child.exitCode !== null) {
      return Promise.reject(new Error(`the CLI has exited (${this.child.exitCode})\n${this.transcript()}`));
    }
    return new Promise((resolve, reject) => {
      const waiter: Waiter = {
        match,
        resolve,
        reject,
        // A deadline for a readable failure, not a sleep: the wait ends on the line itself.
        timer: setTimeout(() => {
          this.#waiters.delete(waiter);
          reject(new Error(`no matching log line within ${timeoutMs}ms\n${this.transcript()}`));
        }, timeoutMs),
      };
      this.#waiters.add(waiter);
    });
  }

  /** The port from the "gateway listening" line. */
  async port(): Promise<number> {
    const line = await this.waitFor('gateway listening');
    return line.port as number;
  }

  signal(sig: NodeJS.Signals): void {
    this.child.kill(sig);
  }

  /** SIGTERM and wait; SIGKILL only if it does not exit (a cleanup failure). */
  async stop(): Promise<number | null> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return this.exited;
    this.child.kill('SIGTERM');
    const timer = setTimeout(() => this.child.kill('SIGKILL'), 15_000);
    try {
      return await this.exited;
    } finally {
      clearTimeout(timer);
    }
  }

  transcript(): string {
    return [
      ...this.lines.map((l) => JSON.stringify(l)),
      ...this.other,
      this.stderr && `stderr: ${this.stderr}`,
    ].join('\n');
  }
}

/** A temporary folder with the given files; removed by `cleanup`. */
export function tempProject(files: Record<string, string> = {}): {
  dir: string;
  write(name: string, text: string): string;
  cleanup(): void;
} {
  const dir = mkdtempSync(join(tmpdir(), 'lucid-cli-'));
  const write = (name: string, text: string) => {
    const file = join(dir, name);
    writeFileSync(file, text);
    return file;
  };
  for (const [name, text] of Object.entries(files)) write(name, text);
  return { dir, write, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}
