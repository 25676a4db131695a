import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, readdirSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ensureBuilt } from '@lucid/test-kit/cli';
import { afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { compileCacheDir } from '../src/run/compile-cache.js';

const bin = fileURLToPath(new URL('../dist/bin.js', import.meta.url));

describe('the compile cache folder', () => {
  it("is the user's own cache folder, never a shared one", () => {
    expect(compileCacheDir({ XDG_CACHE_HOME: '/home/ada/.xdg' })).toBe(
      '/home/ada/.xdg/lucid-gateway/compile-cache',
    );
    expect(compileCacheDir({ HOME: '/home/ada' })).toMatch(/\/lucid-gateway\/compile-cache$/);
  });
});

describe('the built bin keeps its compiled code between runs', () => {
  beforeAll(ensureBuilt, 300_000);
  let home: string;
  beforeEach(async () => {
    home = await mkdtemp(join(tmpdir(), 'lucid-cli-cache-'));
  });
  afterEach(async () => {
    await rm(home, { recursive: true, force: true });
  });

  async function version(env: Record<string, string>) {
    const {
      NODE_COMPILE_CACHE: _,
      NODE_DISABLE_COMPILE_CACHE: __,
      XDG_CACHE_HOME: ___,
      ...parentEnv
    } = process.env;
    const child = spawn(process.execPath, [bin, '--version'], {
      // Bounded: a CLI that never ends is killed, not left behind.
      timeout: 15_000,
      killSignal: 'SIGKILL',
      env: { ...parentEnv, HOME: home, LUCID_GATEWAY_V8_FLAGS: 'off', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout.on('data', (c) => {
      out += c;
    });
    const [code] = await once(child, 'exit');
    expect(code).toBe(0);
    expect(out).toMatch(/\d+\.\d+\.\d+/);
  }
  const cached = () => {
    const dir = join(home, '.cache', 'lucid-gateway', 'compile-cache');
    return existsSync(dir) ? readdirSync(dir, { recursive: true }).length : 0;
  };

  it("in the user's cache folder", async () => {
    await version({});
    expect(cached()).toBeGreaterThan(0);
  });

  it('not when NODE_DISABLE_COMPILE_CACHE says so, nor where NODE_COMPILE_CACHE points elsewhere', async () => {
    await version({ NODE_DISABLE_COMPILE_CACHE: '1' });
    expect(cached()).toBe(0);
    const elsewhere = join(home, 'elsewhere');
    await version({ NODE_COMPILE_CACHE: elsewhere });
    expect(cached()).toBe(0);
    expect(readdirSync(elsewhere, { recursive: true }).length).toBeGreaterThan(0);
  });

  it('runs all the same where the folder cannot be made', async () => {
    const file = join(home, 'a-file');
    await writeFile(file, '');
    await version({ XDG_CACHE_HOME: join(file, 'cache') });
    expect(cached()).toBe(0);
  });
});
