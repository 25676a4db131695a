import { mkdirSync, readdirSync, rmSync, statSync, watch, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildIfStale, stalePackages } from '../../../../scripts/build-state.mjs';

export const REPO_DIR = fileURLToPath(new URL('../../../..', import.meta.url));
export const CLI_DIR = join(REPO_DIR, 'packages', 'cli');
export const BIN = join(CLI_DIR, 'dist', 'bin.js');

// The same staleness rule `pnpm start` and `pnpm lucid-gateway` follow (outputs older than sources).
const stale = () => stalePackages().length > 0;

/** Resolves once `dir` no longer exists (watching its parent, not polling). */
function gone(dir: string): Promise<void> {
  return new Promise((resolve) => {
    const watcher = watch(dirname(dir), () => {
      if (!exists(dir)) {
        watcher.close();
        resolve();
      }
    });
    if (!exists(dir)) {
      watcher.close();
      resolve();
    }
  });
}

const exists = (p: string) => {
  try {
    statSync(p);
    return true;
  } catch {
    return false;
  }
};

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

/**
 * Builds the CLI and the packages it runs on (tsup, as `pnpm build` does) when any source is
 * newer than its output. Test files run in parallel, so one builds while the others wait on a lock.
 */
export async function ensureBuilt(): Promise<void> {
  const lock = join(
    tmpdir(),
    `lucid-gateway-cli-build-${Buffer.from(REPO_DIR).toString('hex').slice(-24)}.lock`,
  );
  for (;;) {
    if (!stale()) return;
    try {
      mkdirSync(lock);
    } catch {
      let owner = 0;
      try {
        owner = Number(readdirSync(lock)[0] ?? 0);
      } catch {}
      // A lock left by a run that died is taken over.
      if (owner > 0 && !alive(owner)) rmSync(lock, { recursive: true, force: true });
      else await gone(lock);
      continue;
    }
    try {
      writeFileSync(join(lock, String(process.pid)), '');
      if (stale() && !buildIfStale({ quiet: true })) {
        // A test that needs the built CLI fails here, saying why; it never passes by not running.
        throw new Error(
          'this test needs the built CLI and `pnpm build` failed: run it and fix what it reports',
        );
      }
      return;
    } finally {
      rmSync(lock, { recursive: true, force: true });
    }
  }
}
