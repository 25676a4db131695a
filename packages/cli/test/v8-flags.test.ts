import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ensureBuilt } from '@lucid/test-kit/cli';
import { afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  cgroupMemoryLimit,
  missingFlags,
  oldSpaceMbFor,
  SEMI_SPACE_MB,
  V8_FLAGS_ENV,
  v8FlagsFor,
} from '../src/run/v8-flags.js';

const MiB = 1024 * 1024;
const bin = fileURLToPath(new URL('../dist/bin.js', import.meta.url));

describe('the heap cap follows the cgroup memory limit', () => {
  let root: string;
  let self: string;
  beforeEach(async () => {
    root = await mkdtemp(join(tmpdir(), 'lucid-cgroup-'));
    self = join(root, 'self-cgroup');
  });
  afterEach(async () => {
    await rm(root, { recursive: true, force: true });
  });
  const put = async (file: string, text: string) => {
    await mkdir(dirname(join(root, file)), { recursive: true });
    await writeFile(join(root, file), text);
  };

  it('reads cgroup v2 memory.max in a container (its own cgroup at the root)', async () => {
    await put('memory.max', '536870912\n');
    await put('self-cgroup', '0::/\n');
    expect(cgroupMemoryLimit(root, self)).toBe(512 * MiB);
  });

  it('reads the process own v2 cgroup first (a systemd unit with MemoryMax=)', async () => {
    await put('memory.max', 'max\n');
    await put('system.slice/lucid.service/memory.max', '268435456\n');
    await put('self-cgroup', '0::/system.slice/lucid.service\n');
    expect(cgroupMemoryLimit(root, self)).toBe(256 * MiB);
  });

  it('no limit: "max" (v2), the huge number of v1, no files, or a value that is not a number', async () => {
    expect(cgroupMemoryLimit(root, self)).toBeUndefined();
    await put('memory.max', 'max\n');
    expect(cgroupMemoryLimit(root, self)).toBeUndefined();
    await rm(join(root, 'memory.max'));
    await put('memory/memory.limit_in_bytes', '9223372036854771712\n');
    expect(cgroupMemoryLimit(root, self)).toBeUndefined();
    await put('memory/memory.limit_in_bytes', 'garbage\n');
    expect(cgroupMemoryLimit(root, self)).toBeUndefined();
    await put('memory/memory.limit_in_bytes', '0\n');
    expect(cgroupMemoryLimit(root, self)).toBeUndefined();
  });

  it('reads cgroup v1 memory.limit_in_bytes, at the process own memory cgroup first', async () => {
    await put('memory/memory.limit_in_bytes', '1073741824\n');
    expect(cgroupMemoryLimit(root, self)).toBe(1024 * MiB);
    await put('self-cgroup', '12:cpu,cpuacct:/x\n11:memory:/docker/abc\n');
    await put('memory/docker/abc/memory.limit_in_bytes', '134217728\n');
    expect(cgroupMemoryLimit(root, self)).toBe(128 * MiB);
  });

  it('caps the heap at three quarters of what the native reserve leaves, never under 32 MB', () => {
    expect(oldSpaceMbFor(512 * MiB)).toBe(336);
    expect(oldSpaceMbFor(256 * MiB)).toBe(144);
    expect(oldSpaceMbFor(128 * MiB)).toBe(48);
    expect(oldSpaceMbFor(64 * MiB)).toBe(32);
    expect(oldSpaceMbFor(8 * 1024 * MiB)).toBe(6096);
    expect(v8FlagsFor(undefined)).toEqual([`--max-semi-space-size=${SEMI_SPACE_MB}`]);
    expect(v8FlagsFor(512 * MiB)).toEqual([
      `--max-semi-space-size=${SEMI_SPACE_MB}`,
      '--max-old-space-size=336',
    ]);
  });

  it('keeps what the person set (arguments or NODE_OPTIONS, dashes or underscores)', () => {
    const wanted = ['--max-semi-space-size=2', '--max-old-space-size=336'];
    expect(missingFlags(wanted, [])).toEqual(wanted);
    expect(missingFlags(wanted, ['--max-semi-space-size=2'])).toEqual(['--max-old-space-size=336']);
    expect(missingFlags(wanted, ['--max_old_space_size=900'], '--max-semi-space-size=8')).toEqual([]);
    expect(missingFlags(wanted, [], '--max-old-space-size-percentage=50%')).toEqual([
      '--max-semi-space-size=2',
    ]);
    expect(missingFlags(wanted, ['--max-semi-space-size-x=1'])).toEqual(wanted);
  });
});

// `node dist/bin.js` (the image's ENTRYPOINT runs it so) gets the flags by replacing itself, same pid.
// process.execve is Node 23.11+ (engines allow 22): there only, this part cannot run.
describe.skipIf(typeof process.execve !== 'function')('node dist/bin.js', () => {
  beforeAll(ensureBuilt, 300_000);
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'lucid-cli-v8-'));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  async function run(env: Record<string, string>, nodeArgs: string[] = []) {
    const out = join(dir, 'seen.json');
    const hook = join(dir, 'hook.mjs');
    await writeFile(
      hook,
      `import { writeFileSync } from 'node:fs';\nprocess.on('exit', () => writeFileSync(${JSON.stringify(out)}, JSON.stringify({ pid: process.pid, execArgv: process.execArgv, argv: process.argv.slice(2), marker: process.env.${V8_FLAGS_ENV} ?? null, arenas: process.env.MALLOC_ARENA_MAX ?? null })));\n`,
    );
    const { [V8_FLAGS_ENV]: _, MALLOC_ARENA_MAX: __, ...parentEnv } = process.env;
    const child = spawn(process.execPath, [...nodeArgs, bin, '--version'], {
      // Bounded: a CLI that never ends is killed, not left behind.
      timeout: 15_000,
      killSignal: 'SIGKILL',
      env: { ...parentEnv, NODE_OPTIONS: `--import=${hook}`, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    child.stdout.on('data', (c) => {
      stdout += c;
    });
    const [code] = await once(child, 'exit');
    return { code, stdout, pid: child.pid, seen: JSON.parse(await readFile(out, 'utf8')) };
  }

  it('relaunches itself in place with its young generation, its arguments intact', async () => {
    const { code, stdout, pid, seen } = await run({});
    expect(code).toBe(0);
    expect(stdout).toMatch(/\d+\.\d+\.\d+/);
    expect(seen.pid).toBe(pid);
    expect(seen.execArgv).toContain(`--max-semi-space-size=${SEMI_SPACE_MB}`);
    expect(seen.argv).toEqual(['--version']);
    expect(seen.marker).toContain(`--max-semi-space-size=${SEMI_SPACE_MB}`);
    expect(seen.arenas).toBe('2');
  });

  it('keeps a malloc arena count set by the person', async () => {
    const { code, seen } = await run({ MALLOC_ARENA_MAX: '4' });
    expect(code).toBe(0);
    expect(seen.execArgv).toContain(`--max-semi-space-size=${SEMI_SPACE_MB}`);
    expect(seen.arenas).toBe('4');
  });

  it('does not relaunch when the flags are given, or when told not to', async () => {
    const given = await run({}, ['--max-semi-space-size=4']);
    expect(given.code).toBe(0);
    expect(given.seen.execArgv).toEqual(['--max-semi-space-size=4']);
    expect(given.seen.marker).toBeNull();
    const off = await run({ [V8_FLAGS_ENV]: 'off' });
    expect(off.code).toBe(0);
    expect(off.seen.execArgv).toEqual([]);
  });
});
