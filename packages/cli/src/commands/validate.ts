import { formatProblem, InvalidConfigError } from '../config/problems.js';
import { EXIT, type Io, reportError } from '../output.js';
import { type ConfigFlags, loadWithFlags, sourceOf } from './common.js';

export interface ValidateFlags extends ConfigFlags {
  json?: boolean | undefined;
}

/**
 * `lucid-gateway validate`: the schema and the semantic checks; every problem with its path
 * and a fix. Exit code 0 when the config can run (warnings allowed), 1 when it cannot.
 */
export async function validateCommand(flags: ValidateFlags, io: Io): Promise<number> {
  try {
    const loaded = await loadWithFlags(flags);
    const { services, routes } = loaded.config;
    if (flags.json) {
      io.out(
        JSON.stringify({ valid: true, file: loaded.filepath ?? null, problems: loaded.warnings }, null, 2),
      );
      return EXIT.ok;
    }
    const counts = `${Object.keys(services).length} services, ${routes.length} routes`;
    io.out(`${sourceOf(loaded)} is valid (${counts})`);
    if (loaded.warnings.length > 0) {
      io.err(`${loaded.warnings.length} warning${loaded.warnings.length === 1 ? '' : 's'}:`);
      for (const w of loaded.warnings) io.err(formatProblem(w));
    }
    return EXIT.ok;
  } catch (err) {
    if (flags.json && err instanceof InvalidConfigError) {
      io.out(JSON.stringify({ valid: false, file: err.file ?? null, problems: err.problems }, null, 2));
      return EXIT.failed;
    }
    return reportError(io, err);
  }
}
