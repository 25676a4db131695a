import { existsSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { join, relative, resolve } from 'node:path';
import { STARTER_CONFIG } from '../init/starter.js';
import { EXIT, type Io, reportError } from '../output.js';

export const STARTER_FILE = 'lucid-gateway.config.yaml';

/** `lucid-gateway init [DIR]`: writes the commented starter config; never overwrites without --force. */
export async function initCommand(dir: string | undefined, flags: { force?: boolean | undefined }, io: Io) {
  try {
    const target = resolve(dir ?? '.');
    const file = join(target, STARTER_FILE);
    if (existsSync(file) && !flags.force) {
      io.err(`lucid-gateway: ${file} already exists; use --force to overwrite it`);
      return EXIT.failed;
    }
    await mkdir(target, { recursive: true });
    await writeFile(file, STARTER_CONFIG);
    const shown = relative(process.cwd(), file) || file;
    io.out(`wrote ${shown}`);
    io.out('next: put JWT_SECRET_KEY (and the service URLs) in .env.core, then');
    io.out(`  lucid-gateway validate --config ${shown} --env-file .env.core`);
    io.out(`  lucid-gateway start --config ${shown} --env-file .env.core`);
    return EXIT.ok;
  } catch (err) {
    return reportError(io, err);
  }
}
