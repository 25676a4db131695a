import { readFileSync } from 'node:fs';
import { parseEnv } from 'node:util';
import { formatPath } from '@lucid/gateway-core';
import { error, type Problem } from './problems.js';

/** `$$` (a literal `$`), `${VAR}` or `${VAR:-default}`. */
const REFERENCE = /\$\$|\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}/g;
const WHOLE_REFERENCE = /^\$\{[A-Za-z_][A-Za-z0-9_]*(?::-[^}]*)?\}$/;

export type Env = Record<string, string | undefined>;

export interface Substitution {
  value: unknown;
  /** Every unset variable with no default, named by the path that referred to it. */
  problems: Problem[];
  /** Paths whose whole value was one reference: they may be coerced to the number or boolean the schema wants. */
  substituted: Set<string>;
}

/**
 * Replaces `${VAR}` and `${VAR:-default}` in every string value (not keys) of a parsed YAML/JSON
 * config. The default applies when the variable is unset or empty, as in a shell; `$$` writes a `$`.
 *
 * @example substituteEnv({ port: '${PORT:-8080}' }, process.env).value // { port: '8080' }
 */
export function substituteEnv(input: unknown, env: Env): Substitution {
  const problems: Problem[] = [];
  const substituted = new Set<string>();
  const walk = (value: unknown, path: PropertyKey[]): unknown => {
    if (typeof value === 'string') {
      if (!value.includes('$')) return value;
      const out = value.replace(
        REFERENCE,
        (match, name: string | undefined, fallback: string | undefined) => {
          if (match === '$$') return '$';
          const set = env[name!];
          if (set !== undefined && set !== '') return set;
          if (fallback !== undefined) return fallback;
          if (set === '') return '';
          problems.push(
            error(
              formatPath(path),
              `environment variable ${name} is not set`,
              `set ${name}, put it in the --env-file, or give a default: \${${name}:-value}`,
            ),
          );
          return match;
        },
      );
      if (WHOLE_REFERENCE.test(value)) substituted.add(formatPath(path));
      return out;
    }
    if (Array.isArray(value)) return value.map((v, i) => walk(v, [...path, i]));
    if (value !== null && typeof value === 'object') {
      const out: Record<string, unknown> = {};
      for (const [k, v] of Object.entries(value)) out[k] = walk(v, [...path, k]);
      return out;
    }
    return value;
  };
  return { value: walk(input, []), problems, substituted };
}

/**
 * Reads a dotenv file (Node's own parser) into the environment; variables already set win.
 * Returns the names it set.
 *
 * @example loadEnvFile('.env.core', process.env)
 */
export function loadEnvFile(file: string, env: Env = process.env): string[] {
  return envFileLoader(file, env)();
}

/**
 * Like `loadEnvFile`, but can be called again (on reload): it remembers which variables the real
 * environment had before the first read, updates the ones that came from the file, and removes
 * those the file no longer has.
 *
 * @example const reloadEnv = envFileLoader('.env.core'); reloadEnv(); process.on('SIGHUP', reloadEnv)
 */
export function envFileLoader(file: string, env: Env = process.env): () => string[] {
  const real = new Set(Object.keys(env).filter((k) => env[k] !== undefined));
  const fromFile = new Set<string>();
  return function loadEnv() {
    const parsed = parseEnv(readEnvFile(file));
    for (const name of fromFile) {
      if (!Object.hasOwn(parsed, name)) {
        delete env[name];
        fromFile.delete(name);
      }
    }
    for (const [name, value] of Object.entries(parsed)) {
      if (real.has(name)) continue;
      env[name] = value;
      fromFile.add(name);
    }
    return [...fromFile];
  };
}

function readEnvFile(file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new EnvFileError(
      file,
      code === 'ENOENT' ? 'file not found' : `cannot read it (${code ?? (err as Error).message})`,
    );
  }
}

export class EnvFileError extends Error {
  readonly file: string;
  constructor(file: string, reason: string) {
    super(`--env-file ${file}: ${reason}`);
    this.name = 'EnvFileError';
    this.file = file;
  }
}
