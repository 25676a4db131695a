import type { ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, spawnRedis } from '@lucid/test-kit';

export interface Sentinel {
  address: string;
  close(): Promise<void>;
}

/** A real Redis Sentinel (`redis-server --sentinel`) watching the master on `masterPort` as `name`. */
export async function startSentinel(masterPort: number, name = 'mymaster'): Promise<Sentinel> {
  const dir = await mkdtemp(join(tmpdir(), 'lucid-sentinel-'));
  const port = await freePort();
  const conf = join(dir, 'sentinel.conf');
  // Sentinel rewrites its config file, so it gets a private copy.
  await writeFile(
    conf,
    [
      `port ${port}`,
      'bind 127.0.0.1',
      `dir ${dir}`,
      `sentinel monitor ${name} 127.0.0.1 ${masterPort} 1`,
      `sentinel down-after-milliseconds ${name} 5000`,
      '',
    ].join('\n'),
  );
  let proc: ChildProcess;
  try {
    proc = await spawnRedis([conf, '--sentinel'], '+monitor master');
  } catch (err) {
    await rm(dir, { recursive: true, force: true });
    throw err;
  }
  return {
    address: `127.0.0.1:${port}`,
    close: async () => {
      if (proc.exitCode === null && proc.signalCode === null) {
        const exited = once(proc, 'exit');
        proc.kill('SIGTERM');
        await exited;
      }
      await rm(dir, { recursive: true, force: true });
    },
  };
}
