import cluster from 'node:cluster';
import { createGateway, createLogger, type Gateway } from '@lucid/gateway-core';
import { describeDefault } from '../config/default.js';
import { envFileLoader } from '../config/env.js';
import { type LoadedConfig, type LoadOptions, loadConfig } from '../config/load.js';
import { InvalidConfigError, problemsOf } from '../config/problems.js';
import { buildPlugins, certificatePlugins, configuredPluginNames, PLUGIN_SECTIONS } from '../plugins.js';
import { type StartFlags, WORKER_SLOT_ENV } from './start-flags.js';
import { watchFiles } from './watch.js';

type Logger = Gateway['logger'];

export type { StartFlags };

/**
 * Runs one gateway in this process: loads the config, says what it loaded, listens, reloads on
 * SIGHUP (and on file changes with --watch), drains on SIGTERM/SIGINT and exits 0.
 * A config that cannot run throws an `InvalidConfigError` before anything listens.
 */
export async function serve(flags: StartFlags): Promise<Gateway> {
  // Signals that come while starting are acted on once the gateway listens; a second stop signal
  // ends a start that hangs (nothing is served yet).
  const early: { reload: boolean; stop: string | undefined } = { reload: false, stop: undefined };
  const earlyReload = () => {
    early.reload = true;
  };
  const earlyStop = (signal: string) => {
    if (early.stop) process.exit(1);
    early.stop = signal;
  };
  process.on('SIGHUP', earlyReload);
  process.on('SIGTERM', earlyStop);
  process.on('SIGINT', earlyStop);

  const reloadEnv = flags.envFile ? envFileLoader(flags.envFile) : undefined;
  const envVars = reloadEnv?.() ?? [];
  const options: LoadOptions = {
    file: flags.config,
    env: process.env,
    flags: { port: flags.port, host: flags.host },
  };
  let current = await loadConfig(options);

  const logger = createLogger({
    ...current.config.logging,
    ...(cluster.isWorker && { base: { worker: cluster.worker!.id, pid: process.pid } }),
  });
  // With --workers, only the worker in slot 0 registers the gateway in Consul.
  const slot = cluster.isWorker ? process.env[WORKER_SLOT_ENV] : undefined;
  const plugins = [
    ...buildPlugins(current.input, { register: slot === undefined || slot === '0' }),
    ...(await certificatePlugins(current.input)),
  ];
  announce(logger, current, envVars, flags.envFile, configuredPluginNames(plugins, current.input));

  const gateway = createGateway(current.input, { plugins, logger });
  try {
    await gateway.listen();
  } catch (err) {
    await gateway.close({ graceMs: 0 }).catch(() => {});
    throw listenError(err, current.config.server);
  }

  let reloads = Promise.resolve();
  const reload = (reason: string) => {
    reloads = reloads.then(() => reloadOnce(reason));
    return reloads;
  };
  const reloadOnce = async (reason: string) => {
    logger.info({ reason, config: current.filepath ?? 'embedded default' }, 'reloading config');
    let next: LoadedConfig;
    try {
      reloadEnv?.();
      // The file found at start stays the config: a reload never falls back to searching or the default.
      next = await loadConfig({ ...options, file: current.filepath ?? options.file });
    } catch (err) {
      gateway.reloadFailed(err);
      return refuse(logger, err);
    }
    const restartOnly = PLUGIN_SECTIONS.filter(
      (k) => JSON.stringify(current.input[k]) !== JSON.stringify(next.input[k]),
    );
    if (restartOnly.length > 0) {
      logger.warn(
        { sections: restartOnly },
        `changes to ${restartOnly.join(', ')} apply on restart, not on reload`,
      );
    }
    try {
      await gateway.reload(next.input);
    } catch (err) {
      return refuse(logger, err);
    }
    current = next;
    for (const w of next.warnings) logger.warn({ path: w.path, fix: w.fix }, `config: ${w.message}`);
  };

  let stopWatching: (() => void) | undefined;
  if (flags.watch && !cluster.isWorker) {
    const files = [current.filepath, reloadEnv && flags.envFile].filter((f): f is string => Boolean(f));
    if (files.length === 0) logger.warn('--watch: no config file to watch (running on the embedded default)');
    else stopWatching = watchFiles(files, () => void reload('watch'));
  }

  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    stopWatching?.();
    const graceMs = current.config.server.timeouts.shutdown;
    logger.info({ signal, graceMs }, 'draining: finishing in-flight requests');
    // A backstop: a log destination that cannot be flushed (a reader that died) must not keep
    // the process alive after the drain.
    setTimeout(() => process.exit(process.exitCode ?? 1), graceMs + 10_000).unref();
    try {
      await reloads;
      await gateway.close({ graceMs });
      logger.info('stopped');
    } catch (err) {
      logger.error({ err }, 'error while stopping');
      process.exitCode = 1;
    }
    await new Promise<void>((resolve) => logger.flush(() => resolve()));
    process.exit();
  };
  process.on('SIGHUP', () => void reload('SIGHUP'));
  process.on('SIGTERM', () => void stop('SIGTERM'));
  process.on('SIGINT', () => void stop('SIGINT'));
  // Removed only now: a signal with no listener at all, even for an instant, would kill the process.
  process.off('SIGHUP', earlyReload);
  process.off('SIGTERM', earlyStop);
  process.off('SIGINT', earlyStop);
  // A worker whose primary is gone drains and leaves rather than serving unsupervised.
  if (cluster.isWorker) process.on('disconnect', () => void stop('disconnect'));
  if (early.stop) void stop(early.stop);
  else if (early.reload) void reload('SIGHUP');
  return gateway;
}

/** The first log lines: where the config came from, what overrode it, what runs. */
function announce(
  logger: Logger,
  loaded: LoadedConfig,
  envVars: string[],
  envFile: string | undefined,
  plugins: string[],
): void {
  const msg = loaded.filepath ? `loaded config from ${loaded.filepath}` : describeDefault(process.env);
  logger.info(
    {
      // Workers carry their pid on every line already.
      ...(!cluster.isWorker && { pid: process.pid }),
      config: loaded.filepath ?? 'embedded default',
      ...(envFile && { envFile, envFileVars: envVars }),
      overrides: loaded.applied,
      services: Object.keys(loaded.config.services),
      routes: loaded.config.routes.length,
      plugins,
    },
    msg,
  );
  for (const w of loaded.warnings) logger.warn({ path: w.path, fix: w.fix }, `config: ${w.message}`);
}

function refuse(logger: Logger, err: unknown): void {
  let problems: string[];
  try {
    problems = problemsOf(err)
      .filter((p) => p.severity === 'error')
      .map((p) => `${p.path || '(config)'}: ${p.message}${p.fix ? ` (fix: ${p.fix})` : ''}`);
  } catch {
    problems = [(err as Error)?.message ?? String(err)];
  }
  logger.error(
    { problems, ...(err instanceof InvalidConfigError && err.file && { config: err.file }) },
    'config reload refused: the new config is invalid; still serving the previous one',
  );
}

function listenError(err: unknown, server: { host: string; port: number }): Error {
  const code = (err as NodeJS.ErrnoException).code;
  const where = `${server.host}:${server.port}`;
  if (code === 'EADDRINUSE')
    return new Error(`cannot listen on ${where}: the port is in use (choose another with --port)`);
  if (code === 'EACCES')
    return new Error(`cannot listen on ${where}: permission denied (ports below 1024 need privileges)`);
  if (code === 'EADDRNOTAVAIL')
    return new Error(`cannot listen on ${where}: no such address on this host (--host)`);
  return err as Error;
}
