import { execFile, spawn } from 'node:child_process';
import { once } from 'node:events';
import { realpathSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it, onTestFinished } from 'vitest';

const root = fileURLToPath(new URL('../../', import.meta.url));
const checks = `${root}scripts/image-checks.sh`;
const run = promisify(execFile);

/** Runs one of scripts/image-checks.sh's checks: whether it accepts, and why not. */
async function judge(...args: string[]): Promise<{ ok: boolean; why: string }> {
  try {
    const { stdout } = await run('bash', [checks, ...args]);
    return { ok: true, why: stdout.trim() };
  } catch (err) {
    const { code, stdout } = err as { code: number; stdout: string };
    expect(code).toBe(1);
    return { ok: false, why: stdout.trim() };
  }
}

const X86_NODE =
  'ELF 64-bit LSB executable, x86-64, version 1 (GNU/Linux), dynamically linked, interpreter /lib64/ld-linux-x86-64.so.2, for GNU/Linux 3.2.0, stripped';
const ARM_NODE =
  'ELF 64-bit LSB executable, ARM aarch64, version 1 (GNU/Linux), dynamically linked, interpreter /lib/ld-linux-aarch64.so.1, for GNU/Linux 3.7.0, stripped';
const HEALTHCHECK = JSON.stringify({
  Test: ['CMD', '/nodejs/bin/node', '-e', 'fetch("http://127.0.0.1:8080/health/live")'],
  Interval: 30_000_000_000,
});

describe('image checks: what an image must declare (scripts/image-checks.sh)', () => {
  it('accepts an image whose architecture is that of its node binary, for both platforms', async () => {
    expect(await judge('check_arch', 'amd64', X86_NODE)).toEqual({ ok: true, why: '' });
    expect(await judge('check_arch', 'arm64', ARM_NODE)).toEqual({ ok: true, why: '' });
  });

  it('refuses an arm64 label over an x86-64 node (the BUILDPLATFORM trap), and the reverse', async () => {
    const lie = await judge('check_arch', 'arm64', X86_NODE);
    expect(lie.ok).toBe(false);
    expect(lie.why).toMatch(/says architecture "arm64" but its node binary is amd64/);
    expect((await judge('check_arch', 'amd64', ARM_NODE)).ok).toBe(false);
    expect((await judge('check_arch', '', X86_NODE)).ok).toBe(false);
    expect((await judge('check_arch', 'arm64', 'ASCII text')).ok).toBe(false);
    expect((await judge('check_arch', 'arm64', 'ELF 32-bit LSB executable, ARM, EABI5')).ok).toBe(false);
  });

  it("reads the description `file` gives of a real binary (this machine's node)", async () => {
    if (process.platform !== 'linux') return;
    const { stdout } = await run('file', ['-L', '-b', realpathSync(process.execPath)]);
    const arch = { x64: 'amd64', arm64: 'arm64' }[process.arch as 'x64' | 'arm64'];
    expect(await judge('check_arch', arch, stdout.trim())).toEqual({ ok: true, why: '' });
    const other = arch === 'amd64' ? 'arm64' : 'amd64';
    expect((await judge('check_arch', other, stdout.trim())).ok).toBe(false);
  });

  it('requires a HEALTHCHECK command, refusing none, a dropped one (OCI format) and NONE', async () => {
    expect((await judge('check_healthcheck', HEALTHCHECK)).ok).toBe(true);
    for (const missing of ['null', '', '{}', '{"Test":null}', '{"Test":[]}']) {
      const verdict = await judge('check_healthcheck', missing);
      expect(verdict.ok, missing).toBe(false);
      expect(verdict.why).toMatch(/no HEALTHCHECK/);
    }
    expect(await judge('check_healthcheck', '{"Test":["NONE"]}')).toEqual({
      ok: false,
      why: 'the image disables its HEALTHCHECK (HEALTHCHECK NONE)',
    });
    expect((await judge('check_healthcheck', '{"Test":["CMD-SHELL","curl -f localhost"]}')).ok).toBe(true);
  });

  it('requires the numeric non-root user 65532, refusing root in every spelling', async () => {
    expect((await judge('check_user', '65532:65532')).ok).toBe(true);
    expect((await judge('check_user', '65532')).ok).toBe(true);
    for (const user of ['', 'root', '0', '0:0', '65532:0', 'root:root']) {
      expect((await judge('check_user', user)).ok, user).toBe(false);
    }
    expect((await judge('check_user', 'root')).why).toBe('the image runs as root (USER root)');
    expect((await judge('check_user', '65532:root')).why).toMatch(/runs as root/);
    expect((await judge('check_user', 'nonroot')).why).toMatch(/a name, not a number/);
    expect((await judge('check_user', '1000:1000')).why).toMatch(/not distroless's nonroot/);
  });

  it('refuses an unknown check name, and test-image.sh an unknown platform (usage, exit 2)', async () => {
    await expect(run('bash', [checks, 'rm', '-rf', '/'])).rejects.toMatchObject({ code: 2 });
    await expect(run('bash', [`${root}scripts/test-image.sh`, 'ppc64le'])).rejects.toMatchObject({
      code: 2,
      stderr: expect.stringMatching(/^usage: scripts\/test-image.sh \[amd64\|arm64\|all\]/),
    });
  });
});

// Building and running the image takes minutes (arm64 under qemu): .ci/run runs this file on its own
// after the suite, with LUCID_IMAGE_TEST=separate set for the suite's run so it does not run twice.
const isRoot = process.getuid?.() === 0;
const hasApt = await run('sh', ['-c', 'command -v podman || command -v apt-get']).then(
  () => true,
  () => false,
);
const skipReason =
  process.env.LUCID_IMAGE_TEST === 'separate'
    ? 'LUCID_IMAGE_TEST=separate: run on its own (pnpm exec vitest run test/container/image.test.ts)'
    : !isRoot
      ? 'not root: podman with vfs storage, runc and binfmt_misc need root'
      : !hasApt
        ? 'no podman, and no apt-get to install it'
        : undefined;
if (skipReason) console.warn(`image.test.ts: building and running the image is skipped: ${skipReason}`);

describe.skipIf(skipReason !== undefined)(
  'the image, built from the Dockerfile and run (scripts/test-image.sh)',
  () => {
    it(
      'builds linux/amd64 and linux/arm64, passes every check on both, and refuses the broken copies',
      async () => {
        // Its own process group: should the test end first (a timeout), the whole group gets SIGTERM and
        // the script's trap removes its containers and storage.
        const child = spawn('bash', [`${root}scripts/test-image.sh`, 'all'], {
          cwd: root,
          stdio: ['ignore', 'pipe', 'pipe'],
          detached: true,
        });
        onTestFinished(() => {
          if (child.exitCode === null && child.signalCode === null) process.kill(-child.pid!, 'SIGTERM');
        });
        let out = '';
        child.stdout.setEncoding('utf8').on('data', (c: string) => {
          out += c;
        });
        child.stderr.setEncoding('utf8').on('data', (c: string) => {
          out += c;
        });
        const [code] = (await once(child, 'exit')) as [number | null];
        // The script's own report, so a CI log shows the numbers and any failure's reason.
        console.log(out);
        expect(out).not.toMatch(/^FAIL /m);
        for (const platform of ['amd64', 'arm64']) {
          for (const id of [
            'build',
            'arch',
            'healthcheck-config',
            'user-config',
            'read-only',
            'start',
            'process-arch',
            'uid',
            'health',
            'healthcheck-run',
            'config-mounted',
            'no-token',
            'token',
            'redis-limit',
            'redis-keys',
            'size',
            'drain',
          ]) {
            expect(out, `${platform} ${id}`).toMatch(new RegExp(`^ok   ${platform} ${id}:`, 'm'));
          }
        }
        // The same checks pass on the unbroken copy built the same way, so the refusals are not blanket ones.
        for (const id of ['arch', 'healthcheck-config', 'user-config']) {
          expect(out, `control ${id}`).toMatch(new RegExp(`^ok   control ${id}:`, 'm'));
        }
        for (const id of ['broken-arch', 'no-healthcheck', 'root-user']) {
          expect(out, id).toMatch(new RegExp(`^ok   negative ${id} .*: refused: `, 'm'));
        }
        expect(out).toMatch(/cleaned up/);
        expect(code).toBe(0);
      },
      45 * 60_000,
    );
  },
);
