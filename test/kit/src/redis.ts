import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { freePort } from './net.js';

export interface RedisServer {
  port: number;
  url: string;
  /** Stops the server (SIGKILL-free: SIGTERM, then waits for exit). */
  stop(): Promise<void>;
  /** Starts it again on the same port. */
  start(): Promise<void>;
  /** The running server's process id (to SIGSTOP it: a Redis that accepts connections and never answers). */
  readonly pid: number | undefined;
}

/**
 * Starts a real `redis-server` (the Debian package) on a free loopback port, with no persistence.
 * Resolves once it logs that it accepts connections.
 */
export async function startRedis(extraArgs: string[] = []): Promise<RedisServer> {
  const port = await freePort();
  let child: ChildProcess | undefined;

  const start = async () => {
    child = await spawnRedis([
      '--port',
      String(port),
      '--bind',
      '127.0.0.1',
      '--save',
      '',
      '--appendonly',
      'no',
      ...extraArgs,
    ]);
  };

  const stop = async () => {
    const proc = child;
    child = undefined;
    if (!proc || proc.exitCode !== null) return;
    const exited = once(proc, 'exit');
    proc.kill('SIGTERM');
    await exited;
  };

  await start();
  return {
    port,
    url: `redis://127.0.0.1:${port}`,
    stop: async () => {
      // A stopped (SIGSTOP) server would never act on SIGTERM.
      if (child?.pid !== undefined && child.exitCode === null) child.kill('SIGCONT');
      await stop();
    },
    start,
    get pid() {
      return child?.pid;
    },
  };
}

/**
 * Spawns `redis-server` with `args` and resolves once its log shows `ready` (by default, that it
 * accepts connections); rejects with its output if it exits first.
 */
export async function spawnRedis(
  args: string[],
  ready = 'Ready to accept connections',
): Promise<ChildProcess> {
  const proc = spawn('redis-server', args, { stdio: ['ignore', 'pipe', 'pipe'] });
  await new Promise<void>((resolve, reject) => {
    let out = '';
    const onData = (chunk: Buffer) => {
      out += chunk.toString();
      if (out.includes(ready)) {
        proc.stdout?.off('data', onData);
        proc.stdout?.resume();
        proc.off('exit', onExit);
        resolve();
      }
    };
    const onExit = (code: number | null) => reject(new Error(`redis-server exited (${code}): ${out}`));
    proc.stdout?.on('data', onData);
    proc.once('exit', onExit);
    proc.once('error', reject);
  });
  return proc;
}
