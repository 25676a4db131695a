import cluster, { type Worker } from 'node:cluster';
import { createLogger } from '@lucid/gateway-core';
import { envFileLoader } from '../config/env.js';
import { loadConfig } from '../config/load.js';
import { type StartFlags, WORKER_SLOT_ENV } from './start-flags.js';
import { watchFiles } from './watch.js';

/** A worker that lived less than this before exiting counts as crashing (its restarts back off). */
const STABLE_MS = 10_000;
const BACKOFF_MIN_MS = 250;
const BACKOFF_MAX_MS = 30_000;

/**
 * The `--workers N` primary: checks the config once (a bad one fails here, not N times), forks N
 * workers that each run the gateway on the shared port, forwards SIGHUP (reload) and SIGTERM or
 * SIGINT (drain) to them, restarts a worker that dies on its own (with backoff), and exits once
 * every worker has exited after a drain.
 */
export async function runPrimary(flags: StartFlags & { workers: number }): Promise<void> {
  // A copy: workers read the env file themselves, so on reload they can tell its variables from real ones.
  const env = { ...process.env };
  if (flags.envFile) envFileLoader(flags.envFile, env)();
  const loaded = await loadConfig({ file: flags.config, env, flags: { port: flags.port, host: flags.host } });
  const logger = createLogger(loaded.config.logging).child({ role: 'primary', pid: process.pid });
  const { port, host } = loaded.config.server;
  logger.info(
    { workers: flags.workers, port, host, config: loaded.filepath ?? 'embedded default' },
    `starting ${flags.workers} workers on ${host}:${port}`,
  );

  const slots = new Map<Worker, { slot: number; startedAt: number }>();
  // Only workers that listen get SIGHUP: one still starting reads the current config anyway.
  const listening = new Set<Worker>();
  cluster.on('listening', (worker) => listening.add(worker));
  const crashes = new Array<number>(flags.workers).fill(0);
  const timers = new Set<NodeJS.Timeout>();
  let stopping = false;
  let failed = false;

  const fork = (slot: number) => {
    const worker = cluster.fork({ [WORKER_SLOT_ENV]: String(slot) });
    slots.set(worker, { slot, startedAt: Date.now() });
  };

  cluster.on('exit', (worker, code, signal) => {
    const info = slots.get(worker);
    slots.delete(worker);
    listening.delete(worker);
    if (!info) return;
    if (stopping) {
      // A worker still starting has no handler yet and ends by the signal itself.
      if (code !== 0 && signal !== 'SIGTERM') failed = true;
      if (slots.size === 0) {
        logger.info({ failed }, 'all workers exited');
        logger.flush(() => process.exit(failed ? 1 : 0));
      }
      return;
    }
    crashes[info.slot] = Date.now() - info.startedAt < STABLE_MS ? crashes[info.slot]! + 1 : 1;
    const delayMs = Math.min(BACKOFF_MAX_MS, BACKOFF_MIN_MS * 2 ** (crashes[info.slot]! - 1));
    logger.error(
      { worker: worker.id, exitCode: code, signal, restartInMs: delayMs },
      'worker exited unexpectedly; restarting it',
    );
    const timer = setTimeout(() => {
      timers.delete(timer);
      if (!stopping) fork(info.slot);
    }, delayMs);
    timers.add(timer);
  });

  const signalAll = (signal: NodeJS.Signals, workers: Iterable<Worker> = slots.keys()) => {
    for (const worker of workers) worker.process.kill(signal);
  };
  const stop = (signal: NodeJS.Signals) => {
    if (stopping) return;
    stopping = true;
    stopWatching?.();
    for (const t of timers) clearTimeout(t);
    logger.info({ signal, workers: slots.size }, 'draining all workers');
    if (slots.size === 0) logger.flush(() => process.exit(0));
    // SIGTERM for every worker, whichever signal came: a Ctrl-C already sent SIGINT to the group.
    signalAll('SIGTERM');
  };
  const reloadAll = (reason: string) => {
    logger.info({ reason, workers: listening.size }, 'asking every worker to reload');
    signalAll('SIGHUP', listening);
  };

  let stopWatching: (() => void) | undefined;
  if (flags.watch) {
    const files = [loaded.filepath, flags.envFile].filter((f): f is string => Boolean(f));
    if (files.length === 0) logger.warn('--watch: no config file to watch (running on the embedded default)');
    else stopWatching = watchFiles(files, () => reloadAll('watch'));
  }

  process.on('SIGHUP', () => reloadAll('SIGHUP'));
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
  for (let slot = 0; slot < flags.workers; slot++) fork(slot);
}
