import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { EnvFileError, envFileLoader, loadEnvFile, substituteEnv } from '../src/config/env.js';

describe('substituteEnv', () => {
  it('replaces ${VAR} and ${VAR:-default} in string values, deep, and leaves keys alone', () => {
    const { value, problems } = substituteEnv(
      {
        '${KEY}': 'x',
        services: { auth: { targets: ['http://${HOST}:${PORT:-8089}/'] } },
        list: ['${MISSING:-fallback}', 3, true, null],
        empty: '${EMPTY:-used-when-empty}',
      },
      { HOST: 'auth.local', EMPTY: '' },
    );
    expect(problems).toEqual([]);
    expect(value).toEqual({
      '${KEY}': 'x',
      services: { auth: { targets: ['http://auth.local:8089/'] } },
      list: ['fallback', 3, true, null],
      empty: 'used-when-empty',
    });
  });

  it('writes $$ as a literal $ and leaves other dollars alone', () => {
    expect(substituteEnv({ a: 'cost: $$5, $HOME, ${}', b: '$${NOT}' }, {}).value).toEqual({
      a: 'cost: $5, $HOME, ${}',
      b: '${NOT}',
    });
  });

  it('names the path and variable of every unset reference without a default', () => {
    const { problems } = substituteEnv(
      { auth: { jwt: { secret: '${JWT_SECRET_KEY}' } }, routes: [{ host: '${A}.${B:-b}' }] },
      {},
    );
    expect(problems.map((p) => `${p.path}: ${p.message}`)).toEqual([
      'auth.jwt.secret: environment variable JWT_SECRET_KEY is not set',
      'routes[0].host: environment variable A is not set',
    ]);
    expect(problems[0]!.fix).toContain('${JWT_SECRET_KEY:-value}');
  });

  it('keeps an empty variable with no default empty (set is set)', () => {
    const { value, problems } = substituteEnv({ a: 'x${E}y' }, { E: '' });
    expect(problems).toEqual([]);
    expect(value).toEqual({ a: 'xy' });
  });

  it('marks values that were one whole reference', () => {
    const { substituted } = substituteEnv({ server: { port: '${PORT:-1}', host: 'h-${X:-y}' } }, {});
    expect([...substituted]).toEqual(['server.port']);
  });
});

describe('loadEnvFile', () => {
  const dir = mkdtempSync(join(tmpdir(), 'lucid-cli-env-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('sets variables from the file; the real environment wins', () => {
    const file = join(dir, '.env.core');
    writeFileSync(
      file,
      '# comment\nJWT_SECRET_KEY=from-file\nREDIS_URL="redis://r:6379"\nexport LOG_LEVEL=debug\n',
    );
    const env: Record<string, string | undefined> = { JWT_SECRET_KEY: 'from-env' };
    const set = loadEnvFile(file, env);
    expect(env).toEqual({ JWT_SECRET_KEY: 'from-env', REDIS_URL: 'redis://r:6379', LOG_LEVEL: 'debug' });
    expect(set.sort()).toEqual(['LOG_LEVEL', 'REDIS_URL']);
  });

  it('says which file is missing', () => {
    expect(() => loadEnvFile(join(dir, 'nope.env'), {})).toThrow(EnvFileError);
    expect(() => loadEnvFile(join(dir, 'nope.env'), {})).toThrow(/nope\.env: file not found/);
  });
});

describe('envFileLoader', () => {
  const dir = mkdtempSync(join(tmpdir(), 'lucid-cli-envl-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('updates and removes what came from the file on a second read, never the real environment', () => {
    const file = join(dir, '.env');
    writeFileSync(file, 'A=1\nB=2\nREAL=file\n');
    const env: Record<string, string | undefined> = { REAL: 'env' };
    const load = envFileLoader(file, env);
    expect(load().sort()).toEqual(['A', 'B']);
    writeFileSync(file, 'A=10\nREAL=file2\nC=3\n');
    expect(load().sort()).toEqual(['A', 'C']);
    expect(env).toEqual({ REAL: 'env', A: '10', C: '3' });
  });
});
