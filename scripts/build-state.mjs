// Which packages need building: a package is stale when one of its build outputs is missing or
// older than its newest source (src/, package.json, tsup.config.ts). `pnpm start`, `pnpm
// lucid-gateway` and the tests ask this, so an unchanged tree starts at once.
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const REPO_DIR = fileURLToPath(new URL('..', import.meta.url));
const PACKAGES_DIR = join(REPO_DIR, 'packages');

function newestInput(dir) {
  let newest = 0;
  const consider = (file) => {
    if (existsSync(file)) newest = Math.max(newest, statSync(file).mtimeMs);
  };
  consider(join(dir, 'package.json'));
  consider(join(dir, 'tsup.config.ts'));
  consider(join(REPO_DIR, 'tsup.base.ts'));
  for (const entry of readdirSync(join(dir, 'src'), { withFileTypes: true, recursive: true })) {
    if (entry.isFile() && !entry.name.endsWith('.test.ts')) consider(join(entry.parentPath, entry.name));
  }
  return newest;
}

/** The files a build of the package writes that the package's consumers load. */
function outputsOf(dir, pkg) {
  const bins = typeof pkg.bin === 'string' ? [pkg.bin] : Object.values(pkg.bin ?? {});
  return [pkg.module ?? pkg.main, ...bins].filter(Boolean).map((f) => join(dir, f));
}

/** Names of the workspace packages whose build is missing or older than their sources. */
export function stalePackages() {
  const stale = [];
  for (const name of readdirSync(PACKAGES_DIR)) {
    const dir = join(PACKAGES_DIR, name);
    if (!existsSync(join(dir, 'package.json'))) continue;
    const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8'));
    if (!pkg.scripts?.build) continue;
    const inputs = newestInput(dir);
    const outdated = outputsOf(dir, pkg).some((f) => !existsSync(f) || statSync(f).mtimeMs < inputs);
    if (outdated) stale.push(pkg.name);
  }
  return stale;
}

/**
 * Builds the stale packages and the ones that depend on them, saying so on stderr (stdout stays
 * the command's own, for `TOKEN=$(pnpm -s lucid-gateway token ...)`). Returns false when the build failed.
 */
export function buildIfStale({ quiet = false } = {}) {
  const stale = stalePackages();
  if (stale.length === 0) return true;
  const say = (text) => quiet || process.stderr.write(`${text}\n`);
  say(
    `lucid-gateway: building ${stale.join(', ')} and what depends on them (sources changed since the last build)...`,
  );
  const started = performance.now();
  const filters = stale.flatMap((name) => ['--filter', `...${name}`]);
  const result = spawnSync('pnpm', ['-r', '--reporter=append-only', ...filters, 'run', 'build'], {
    cwd: REPO_DIR,
    stdio: ['ignore', quiet ? 'pipe' : 2, quiet ? 'pipe' : 2],
    encoding: 'utf8',
  });
  if (result.status !== 0) {
    process.stderr.write(
      `${quiet ? `${result.stdout ?? ''}${result.stderr ?? ''}` : ''}lucid-gateway: the build failed (see above); fix it, or run "pnpm build" to see it again.\n`,
    );
    return false;
  }
  say(`lucid-gateway: built in ${((performance.now() - started) / 1000).toFixed(1)} s`);
  return true;
}
