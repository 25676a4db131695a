import cluster from 'node:cluster';
import { type Io, reportError } from '../output.js';
import { runPrimary } from '../run/cluster.js';
import { type StartFlags, serve } from '../run/serve.js';

/**
 * `lucid-gateway start`: one gateway in this process, or with `--workers N` a primary and N
 * workers sharing the port. Resolves once listening; signals end the process from then on.
 */
export async function startCommand(flags: StartFlags, io: Io): Promise<number | undefined> {
  try {
    if (cluster.isPrimary && flags.workers !== undefined && flags.workers > 1) {
      await runPrimary({ ...flags, workers: flags.workers });
    } else {
      await serve(flags);
    }
    return undefined;
  } catch (err) {
    return reportError(io, err);
  }
}
