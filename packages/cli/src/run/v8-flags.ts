import { accessSync, constants, readFileSync } from 'node:fs';
import { join } from 'node:path';

const MiB = 1024 * 1024;
/**
 * Each of the young generation's two halves, in MB: V8's own ceiling on 64-bit, pinned so that V8 does not
 * shrink it under a memory limit. Measured on the built CLI under the bench's load (3 rounds each, twice):
 * 16 MB serves 25% more requests per CPU-second than 2 MB and peaks lower (about 136 MB against 150);
 * 2 MB idles 3 to 4 MB lower (fewer scavenges of start-up garbage, more of every request's).
 */
export const SEMI_SPACE_MB = 16;
/**
 * glibc's malloc arenas: by default up to eight per core, one per thread that allocates (V8's and libuv's
 * helpers). Two keep about 2 MB less resident at idle and 7 MB less at peak, the main thread doing the work.
 */
export const MALLOC_ENV = { MALLOC_ARENA_MAX: '2' } as const;
/** Node's own code and native memory (the binary's pages, sockets, buffers): left out of the heap cap. */
const NATIVE_RESERVE = 64 * MiB;
/** The smallest heap cap: the gateway's live heap under load is about 25 MB. */
const MIN_OLD_SPACE_MB = 32;
/** Set in the relaunched process (so it never relaunches again); `off` keeps Node's own settings. */
export const V8_FLAGS_ENV = 'LUCID_GATEWAY_V8_FLAGS';

/** Reads a file, or undefined when it cannot be read. */
function read(file: string): string | undefined {
  try {
    return readFileSync(file, 'utf8').trim();
  } catch {
    return undefined;
  }
}

/** A limit file's value in bytes; undefined for "max" and for v1's "no limit" (2^63 rounded down to a page). */
function limitOf(text: string | undefined): number | undefined {
  if (text === undefined || text === 'max') return undefined;
  const bytes = Number(text);
  return Number.isSafeInteger(bytes) && bytes > 0 && bytes < 2 ** 50 ? bytes : undefined;
}

/**
 * The memory limit of the cgroup this process runs in, in bytes, or undefined when there is none.
 * cgroup v2 (`memory.max`) first, then v1 (`memory/memory.limit_in_bytes`); each at the process's own
 * cgroup (a systemd unit's `MemoryMax=`) and at the root (a container sees its own cgroup there).
 *
 * @example cgroupMemoryLimit() // 536870912 under `docker run -m 512m`
 */
export function cgroupMemoryLimit(
  root = '/sys/fs/cgroup',
  selfCgroup = '/proc/self/cgroup',
): number | undefined {
  const own = read(selfCgroup)?.split('\n') ?? [];
  const v2 = own.find((l) => l.startsWith('0::'))?.slice(3);
  const v1 = own
    .map((l) => l.split(':'))
    .find(([, controllers]) => controllers?.split(',').includes('memory'))?.[2];
  const candidates = [
    ...(v2 && v2 !== '/' ? [join(root, v2, 'memory.max')] : []),
    join(root, 'memory.max'),
    ...(v1 && v1 !== '/' ? [join(root, 'memory', v1, 'memory.limit_in_bytes')] : []),
    join(root, 'memory', 'memory.limit_in_bytes'),
  ];
  for (const file of candidates) {
    const text = read(file);
    if (text !== undefined) return limitOf(text);
  }
  return undefined;
}

/** The old generation's cap for a memory limit: three quarters of what the native reserve leaves. */
export function oldSpaceMbFor(limitBytes: number): number {
  return Math.max(MIN_OLD_SPACE_MB, Math.floor(((limitBytes - NATIVE_RESERVE) * 3) / 4 / MiB));
}

/** The V8 flags the gateway runs with: its young generation, and a heap cap when memory is limited. */
export function v8FlagsFor(limitBytes: number | undefined): string[] {
  const flags = [`--max-semi-space-size=${SEMI_SPACE_MB}`];
  if (limitBytes !== undefined) flags.push(`--max-old-space-size=${oldSpaceMbFor(limitBytes)}`);
  return flags;
}

const nameOf = (flag: string) => flag.replace(/=.*$/, '').replaceAll('_', '-');

/** The flags of `wanted` that Node was not given (in its arguments or NODE_OPTIONS): what the person set wins. */
export function missingFlags(wanted: string[], execArgv: readonly string[], nodeOptions = ''): string[] {
  const given = new Set([...execArgv, ...nodeOptions.split(/\s+/)].map(nameOf));
  // A percentage of memory is a cap too.
  if (given.has('--max-old-space-size-percentage')) given.add('--max-old-space-size');
  return wanted.filter((f) => !given.has(nameOf(f)));
}

/** Whether this user may run the file: a failed execve ends the process, so it is asked first. */
function canExecute(file: string): boolean {
  try {
    accessSync(file, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/**
 * Runs this CLI under the V8 flags above when some are missing: started as `node dist/bin.js` (the image),
 * or in a container whose limit the shebang cannot know. The process is replaced in place (same pid, so
 * node stays PID 1 in the image and gets the signals) by `node FLAGS -- bin.js ARGS`. Without
 * `process.execve` (Node before 22.15) it goes on with Node's own settings.
 */
export function relaunchWithV8Flags(env: NodeJS.ProcessEnv = process.env): void {
  if (env[V8_FLAGS_ENV] !== undefined || typeof process.execve !== 'function') return;
  const missing = missingFlags(v8FlagsFor(cgroupMemoryLimit()), process.execArgv, env.NODE_OPTIONS);
  if (missing.length === 0) return;
  const [node, script, ...args] = process.argv;
  if (!node || !script || !canExecute(process.execPath)) return;
  process.execve(
    process.execPath,
    [process.execPath, ...missing, ...process.execArgv, '--', script, ...args],
    {
      ...MALLOC_ENV,
      ...env,
      [V8_FLAGS_ENV]: missing.join(' '),
    },
  );
}
