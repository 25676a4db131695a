import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { toolchainProblem, wanted } from '../../scripts/toolchain-check.mjs';

const run = promisify(execFile);
const script = new URL('../../scripts/toolchain-check.mjs', import.meta.url).pathname;
const want = wanted();

describe('the toolchain check (preinstall, pnpm start, pnpm lucid-gateway)', () => {
  it('reads the pinned pnpm and the Node floor from package.json', () => {
    expect(want.pnpm).toMatch(/^\d+\.\d+\.\d+$/);
    expect(want.nodeMajor).toBeGreaterThanOrEqual(22);
  });

  it('passes the pinned pnpm on a current Node, and node run directly', () => {
    expect(
      toolchainProblem({ nodeVersion: 'v24.1.0', userAgent: `pnpm/${want.pnpm} npm/? node/v24.1.0` }),
    ).toBe(undefined);
    expect(toolchainProblem({ nodeVersion: 'v22.0.0', userAgent: undefined })).toBe(undefined);
  });

  it.each([
    ['v20.19.0', undefined, /needs Node\.js 22 or newer, and this is Node\.js v20\.19\.0/],
    ['v18.20.0', 'pnpm/9.15.0 npm/? node/v18.20.0', /needs Node\.js 22/],
    ['v24.1.0', 'pnpm/11.0.0 npm/? node/v24.1.0', /pnpm \d+\.\d+\.\d+ exactly, and this is pnpm 11\.0\.0/],
    ['v24.1.0', 'pnpm/10.0.0 npm/? node/v24.1.0', /and this is pnpm 10\.0\.0: run "npm i -g pnpm@/],
    ['v24.1.0', 'npm/10.9.0 node/v24.1.0 linux x64', /and this is npm: run "npm i -g pnpm@/],
    ['v24.1.0', 'yarn/1.22.22 npm/? node/v24.1.0', /and this is yarn/],
  ])('Node %s with %s gets one sentence that says what to do', (nodeVersion, userAgent, expected) => {
    const problem = toolchainProblem({ nodeVersion, userAgent });
    expect(problem).toMatch(expected);
    expect(problem).not.toContain('\n');
  });

  it('as a script: exit 1 and the sentence on stderr, no stack', async () => {
    const err = await run(process.execPath, [script], {
      env: { PATH: process.env.PATH, npm_config_user_agent: 'pnpm/11.1.0 npm/? node/v24.1.0' },
    }).catch((e: { code: number; stderr: string; stdout: string }) => e);
    expect(err).toMatchObject({ code: 1, stdout: '' });
    expect((err as { stderr: string }).stderr.trim().split('\n')).toHaveLength(1);
    expect((err as { stderr: string }).stderr).not.toMatch(/\s+at /);
  });

  it('as a script: exit 0 and silent with the pinned pnpm', async () => {
    const ok = await run(process.execPath, [script], {
      env: {
        PATH: process.env.PATH,
        npm_config_user_agent: `pnpm/${want.pnpm} npm/? node/${process.version}`,
      },
    });
    expect(ok.stdout + ok.stderr).toBe('');
  });
});
