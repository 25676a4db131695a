import { execFile } from 'node:child_process';
import {
  copyFileSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const run = promisify(execFile);
const SCRIPTS = new URL('../../scripts/', import.meta.url).pathname;

/**
 * A two-package workspace (b depends on a) whose "build" copies src/index.js to dist/index.js and
 * counts its runs, with build-state.mjs beside it as in the repository.
 */
function workspace() {
  const root = mkdtempSync(join(tmpdir(), 'lucid-build-state-'));
  mkdirSync(join(root, 'scripts'));
  copyFileSync(join(SCRIPTS, 'build-state.mjs'), join(root, 'scripts/build-state.mjs'));
  writeFileSync(join(root, 'package.json'), JSON.stringify({ name: 'ws', private: true }));
  writeFileSync(join(root, 'pnpm-workspace.yaml'), 'packages:\n  - packages/*\n');
  const build =
    "node -e \"const f=require('fs');f.mkdirSync('dist',{recursive:true});f.copyFileSync('src/index.js','dist/index.js');f.appendFileSync('../../builds.log',require('./package.json').name+'\\n')\"";
  for (const [name, deps] of [
    ['a', {}],
    ['b', { a: 'workspace:*' }],
  ] as const) {
    const dir = join(root, 'packages', name);
    mkdirSync(join(dir, 'src'), { recursive: true });
    writeFileSync(join(dir, 'src/index.js'), `export const name = '${name}';\n`);
    writeFileSync(
      join(dir, 'package.json'),
      JSON.stringify({
        name,
        version: '1.0.0',
        module: './dist/index.js',
        scripts: { build },
        dependencies: deps,
      }),
    );
  }
  return root;
}

describe('build-state: `pnpm start` builds only what changed', () => {
  let root: string;
  const state = async () =>
    (await import(
      `${join(root, 'scripts/build-state.mjs')}?t=${Math.random()}`
    )) as typeof import('../../scripts/build-state.mjs');
  const builds = () => {
    try {
      return readFileSync(join(root, 'builds.log'), 'utf8').trim().split('\n').filter(Boolean);
    } catch {
      return [];
    }
  };

  beforeAll(async () => {
    root = workspace();
    await run('pnpm', ['install', '--offline', '--silent'], { cwd: root });
  }, 60_000);
  afterAll(() => rmSync(root, { recursive: true, force: true }));

  it('a fresh clone (no dist) builds every package, then nothing is stale', async () => {
    const { stalePackages, buildIfStale } = await state();
    expect(stalePackages().sort()).toEqual(['a', 'b']);
    expect(buildIfStale({ quiet: true })).toBe(true);
    expect(builds().sort()).toEqual(['a', 'b']);
    expect(stalePackages()).toEqual([]);
  });

  it('an unchanged tree builds nothing', async () => {
    const { buildIfStale } = await state();
    const before = builds().length;
    expect(buildIfStale({ quiet: true })).toBe(true);
    expect(builds()).toHaveLength(before);
  });

  it('a changed source rebuilds that package and its dependents, not the others', async () => {
    const { stalePackages, buildIfStale } = await state();
    // Outputs built an hour ago; then a's source changed half an hour ago.
    const at = (file: string, minutesAgo: number) => {
      const t = new Date(Date.now() - minutesAgo * 60_000);
      utimesSync(join(root, file), t, t);
    };
    for (const p of ['a', 'b']) at(`packages/${p}/dist/index.js`, 60);
    for (const p of ['a', 'b']) at(`packages/${p}/src/index.js`, 90);
    for (const p of ['a', 'b']) at(`packages/${p}/package.json`, 90);
    expect(stalePackages()).toEqual([]);
    at('packages/a/src/index.js', 30);
    expect(stalePackages()).toEqual(['a']);
    const before = builds().length;
    expect(buildIfStale({ quiet: true })).toBe(true);
    expect(builds().slice(before).sort()).toEqual(['a', 'b']);

    for (const p of ['a', 'b']) at(`packages/${p}/dist/index.js`, 60);
    at('packages/a/src/index.js', 90);
    at('packages/b/src/index.js', 30);
    expect(stalePackages()).toEqual(['b']);
    const mid = builds().length;
    expect(buildIfStale({ quiet: true })).toBe(true);
    expect(builds().slice(mid)).toEqual(['b']);
  });

  it('a failing build is reported as a failure', async () => {
    const { buildIfStale } = await state();
    const pkg = join(root, 'packages/a/package.json');
    const json = JSON.parse(readFileSync(pkg, 'utf8'));
    json.scripts.build = 'node -e "process.exit(3)"';
    writeFileSync(pkg, JSON.stringify(json));
    const stderr = process.stderr.write;
    let said = '';
    process.stderr.write = ((chunk: string) => {
      said += chunk;
      return true;
    }) as typeof process.stderr.write;
    try {
      expect(buildIfStale({ quiet: true })).toBe(false);
    } finally {
      process.stderr.write = stderr;
    }
    expect(said).toMatch(/the build failed/);
  });
});
