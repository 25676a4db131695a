import { type ChildProcess, fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const SCRIPT = fileURLToPath(new URL('./gateway-child.mjs', import.meta.url));

export interface ChildStats {
  heapUsed: number;
  peakHeap: number;
  sockets: number;
  fds: number;
}

export interface GatewayChild {
  port: number;
  url: string;
  child: ChildProcess;
  /** Resolves with the exit code once the process ended. */
  exited: Promise<number | null>;
  stats(): Promise<ChildStats>;
  /** Closes the gateway; the process then ends on its own. Resolves with the peak heap seen. */
  close(graceMs?: number): Promise<{ peakHeap: number; code: number | null }>;
  /** For cleanup after a failure: ends the process whatever its state. */
  kill(): Promise<void>;
}

/** Forks a gateway (built core, `packages/core/dist`) with the given config and node flags. */
export async function forkGateway(config: unknown, execArgv: string[] = []): Promise<GatewayChild> {
  const child = fork(SCRIPT, [], {
    execArgv,
    env: { PATH: process.env.PATH, LUCID_TEST_CONFIG: JSON.stringify(config) },
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const next = <T>(type: string) =>
    new Promise<T>((resolve, reject) => {
      const onMessage = (msg: { type: string }) => {
        if (msg.type !== type) return;
        child.off('message', onMessage);
        child.off('exit', onExit);
        resolve(msg as T);
      };
      const onExit = (code: number | null) => reject(new Error(`the gateway process exited (${code})`));
      child.on('message', onMessage);
      child.once('exit', onExit);
    });
  const { port } = await next<{ port: number }>('listening');
  return {
    port,
    url: `http://127.0.0.1:${port}`,
    child,
    exited,
    stats: () => {
      const answer = next<ChildStats>('stats');
      child.send({ type: 'stats' });
      return answer;
    },
    close: async (graceMs = 1_000) => {
      const closed = next<{ peakHeap: number }>('closed');
      child.send({ type: 'close', graceMs });
      const { peakHeap } = await closed;
      return { peakHeap, code: await exited };
    },
    kill: async () => {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGKILL');
      await exited;
    },
  };
}
