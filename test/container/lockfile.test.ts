import { execFile } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { ignoredBy, readDockerignore } from './dockerfile.js';

const root = fileURLToPath(new URL('../../', import.meta.url));
const run = promisify(execFile);

// Under `pnpm vitest`, npm_execpath is pnpm itself; otherwise pnpm is on the PATH.
const pnpm = (args: string[], cwd: string) =>
  process.env.npm_execpath && /pnpm/.test(process.env.npm_execpath)
    ? run(process.execPath, [process.env.npm_execpath, ...args], { cwd })
    : run('pnpm', args, { cwd });

describe("the image's dependency install", () => {
  const scratch = mkdtempSync(join(tmpdir(), 'lucid-lockfile-'));
  afterAll(() => rmSync(scratch, { recursive: true, force: true }));

  it('accepts the lockfile as the build context has it (pnpm install --frozen-lockfile)', async () => {
    // The manifests the builder stage sees: the workspace's, minus what .dockerignore leaves out.
    const patterns = readDockerignore(`${root}.dockerignore`);
    const manifests = [
      'package.json',
      'pnpm-lock.yaml',
      'pnpm-workspace.yaml',
      ...readdirSync(`${root}packages`)
        .map((p) => `packages/${p}/package.json`)
        .filter((f) => existsSync(`${root}${f}`)),
    ].filter((f) => !ignoredBy(patterns, f));
    expect(manifests).toContain('packages/cli/package.json');
    for (const f of manifests) {
      mkdirSync(dirname(join(scratch, f)), { recursive: true });
      copyFileSync(join(root, f), join(scratch, f));
    }
    // --lockfile-only checks the lockfile against the manifests without installing anything.
    const result = await pnpm(['install', '--frozen-lockfile', '--lockfile-only', '--offline'], scratch).then(
      () => 'ok',
      (err: { stdout?: string; stderr?: string }) => `${err.stdout ?? ''}${err.stderr ?? ''}`,
    );
    expect(
      result,
      'pnpm-lock.yaml is out of date with the manifests; run pnpm install and commit the lockfile',
    ).toBe('ok');
  });
});
