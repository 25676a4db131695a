import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

const script = fileURLToPath(new URL('../../scripts/build-image.sh', import.meta.url));
const run = promisify(execFile);

/** The docker commands the script would run, one array of words per command. */
async function plan(...args: string[]): Promise<string[][]> {
  const { stdout } = await run('bash', [script, ...args, '--dry-run']);
  return stdout
    .trim()
    .split('\n')
    .map((line) =>
      line
        .trim()
        .split(/\s+/)
        .map((w) => w.replace(/\\(.)/g, '$1')),
    );
}

const flag = (cmd: string[], name: string): string[] =>
  cmd.flatMap((w, i) => (w === name && cmd[i + 1] !== undefined ? [cmd[i + 1]!] : []));

describe('scripts/build-image.sh', () => {
  it('builds linux/amd64 and linux/arm64 with buildx, under the image name it is given', async () => {
    const cmds = await plan('ghcr.io/acme/lucid-gateway', '--push');
    const build = cmds.find((c) => c[1] === 'buildx' && c[2] === 'build')!;
    expect(build).toBeDefined();
    expect(flag(build, '--platform')[0]!.split(',').sort()).toEqual(['linux/amd64', 'linux/arm64']);
    expect(flag(build, '--tag')).toEqual([
      expect.stringMatching(/^ghcr\.io\/acme\/lucid-gateway:\d+\.\d+\.\d+/),
      'ghcr.io/acme/lucid-gateway:latest',
    ]);
    expect(build).toContain('--push');
    expect(flag(build, '--file')).toEqual(['Dockerfile']);
    expect(flag(build, '--build-arg')).toContainEqual(expect.stringMatching(/^VERSION=\d+\.\d+\.\d+/));
  });

  it('pushes only when asked, and uses a multi-platform builder for both platforms', async () => {
    const cmds = await plan('lucid-gateway');
    const build = cmds.find((c) => c[2] === 'build')!;
    expect(build).not.toContain('--push');
    expect(build).not.toContain('--load');
    expect(cmds.some((c) => c[2] === 'create' && c.includes('docker-container'))).toBe(true);
    expect(flag(build, '--builder')).toEqual(['lucid-gateway-builder']);
  });

  it('loads a single platform into docker and keeps an explicit tag (a registry port is not one)', async () => {
    const cmds = await plan('localhost:5000/lucid:dev', '--platform', 'linux/arm64');
    const build = cmds.find((c) => c[2] === 'build')!;
    expect(flag(build, '--platform')).toEqual(['linux/arm64']);
    expect(flag(build, '--tag')).toEqual(['localhost:5000/lucid:dev']);
    expect(build).toContain('--load');
    const untagged = (await plan('localhost:5000/lucid')).find((c) => c[2] === 'build')!;
    expect(flag(untagged, '--tag')).toContain('localhost:5000/lucid:latest');
  });

  it('refuses to run without an image name', async () => {
    await expect(run('bash', [script, '--dry-run'])).rejects.toMatchObject({ code: 2 });
  });
});
