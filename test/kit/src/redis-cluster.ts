import { type ChildProcess, execFile } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { freePort } from './net.js';
import { spawnRedis } from './redis.js';

const run = promisify(execFile);

export interface RedisCluster {
  /** `redis://127.0.0.1:<port>` of each node. */
  urls: string[];
  ports: number[];
  close(): Promise<void>;
}

function startNode(port: number, busPort: number, dir: string): Promise<ChildProcess> {
  return spawnRedis([
    '--port',
    String(port),
    '--bind',
    '127.0.0.1',
    '--cluster-enabled',
    'yes',
    '--cluster-port',
    String(busPort),
    '--cluster-config-file',
    join(dir, `nodes-${port}.conf`),
    '--cluster-node-timeout',
    '5000',
    '--dir',
    dir,
    '--save',
    '',
    '--appendonly',
    'no',
  ]);
}

async function clusterState(port: number): Promise<string> {
  const { stdout } = await run('redis-cli', ['-p', String(port), 'CLUSTER', 'INFO']);
  return /cluster_state:(\w+)/.exec(stdout)?.[1] ?? 'unknown';
}

/**
 * Three real `redis-server` nodes in cluster mode (three masters, no replicas) on free loopback
 * ports, joined with `redis-cli --cluster create`. Resolves once every node reports `cluster_state:ok`.
 */
export async function startRedisCluster(): Promise<RedisCluster> {
  const dir = await mkdtemp(join(tmpdir(), 'lucid-redis-cluster-'));
  const procs: ChildProcess[] = [];
  const ports: number[] = [];
  const close = async () => {
    await Promise.all(
      procs.map(async (proc) => {
        if (proc.exitCode !== null || proc.signalCode !== null) return;
        const exited = once(proc, 'exit');
        proc.kill('SIGTERM');
        await exited;
      }),
    );
    await rm(dir, { recursive: true, force: true });
  };
  try {
    for (let i = 0; i < 3; i++) {
      // The cluster bus port is set explicitly: the default (port + 10000) may be taken or out of range.
      const [port, busPort] = [await freePort(), await freePort()];
      ports.push(port);
      procs.push(await startNode(port, busPort, dir));
    }
    await run('redis-cli', [
      '--cluster',
      'create',
      ...ports.map((p) => `127.0.0.1:${p}`),
      '--cluster-replicas',
      '0',
      '--cluster-yes',
    ]);
    // The nodes agree on the slot map through gossip; wait until each one says so.
    const deadline = Date.now() + 20_000;
    for (;;) {
      const states = await Promise.all(ports.map(clusterState));
      if (states.every((s) => s === 'ok')) break;
      if (Date.now() > deadline) throw new Error(`redis cluster never became ok: ${states.join(', ')}`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  } catch (err) {
    await close();
    throw err;
  }
  return { urls: ports.map((p) => `redis://127.0.0.1:${p}`), ports, close };
}
