import { EnvFileError } from './config/env.js';
import { formatProblem, InvalidConfigError, problemsOf } from './config/problems.js';

/** Where a command writes: its result to `out`, messages for a person to `err`. */
export interface Io {
  out(text: string): void;
  err(text: string): void;
}

export const processIo: Io = {
  out: (text) => process.stdout.write(text.endsWith('\n') ? text : `${text}\n`),
  err: (text) => process.stderr.write(text.endsWith('\n') ? text : `${text}\n`),
};

export const EXIT = { ok: 0, failed: 1, usage: 2 } as const;

/**
 * Says what went wrong in words a person can act on, and returns the exit code. A bad config
 * lists its problems; anything unexpected is one line, with the stack only under DEBUG.
 */
export function reportError(io: Io, err: unknown): number {
  // Core's ConfigError (from createGateway) reads like ours.
  if ((err as Error)?.name === 'ConfigError') err = new InvalidConfigError(problemsOf(err));
  if (err instanceof InvalidConfigError) {
    const errors = err.problems.filter((p) => p.severity === 'error');
    const where = err.file ?? 'the config';
    io.err(`lucid-gateway: ${where} has ${errors.length} problem${errors.length === 1 ? '' : 's'}:`);
    for (const p of err.problems) io.err(formatProblem(p));
    return EXIT.failed;
  }
  if (err instanceof EnvFileError) {
    io.err(`lucid-gateway: ${err.message}`);
    return EXIT.failed;
  }
  const e = err as Error;
  io.err(`lucid-gateway: ${e?.message ?? String(err)}`);
  if (process.env.DEBUG) io.err(String(e?.stack ?? ''));
  return EXIT.failed;
}
