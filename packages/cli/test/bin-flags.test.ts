import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { delimiter, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ensureBuilt } from '@lucid/test-kit/cli';
import { afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { SEMI_SPACE_MB } from '../src/run/v8-flags.js';

const bin = fileURLToPath(new URL('../dist/bin.js', import.meta.url));

// Run as a command (npm's bin link, or ./bin.js), the CLI tunes V8 for a small device by itself.
describe.skipIf(process.platform === 'win32')('the built bin as a command', () => {
  beforeAll(ensureBuilt, 300_000);
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'lucid-cli-flags-'));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('runs Node with the young generation of v8-flags.ts and two malloc arenas, and still takes its own options after "--"', async () => {
    const out = join(dir, 'execargv.json');
    const hook = join(dir, 'hook.mjs');
    await writeFile(
      hook,
      `import { writeFileSync } from 'node:fs';\nprocess.on('exit', () => writeFileSync(${JSON.stringify(out)}, JSON.stringify({ execArgv: process.execArgv, arenas: process.env.MALLOC_ARENA_MAX })));\n`,
    );
    const child = spawn(bin, ['--version'], {
      env: {
        ...process.env,
        PATH: `${dirname(process.execPath)}${delimiter}${process.env.PATH ?? ''}`,
        NODE_OPTIONS: `--import=${hook}`,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    child.stdout.on('data', (c) => {
      stdout += c;
    });
    const [code] = await once(child, 'exit');
    expect(code).toBe(0);
    expect(stdout).toMatch(/\d+\.\d+\.\d+/);
    const seen = JSON.parse(await readFile(out, 'utf8'));
    expect(seen.execArgv).toContain(`--max-semi-space-size=${SEMI_SPACE_MB}`);
    expect(seen.arenas).toBe('2');
  });
});
