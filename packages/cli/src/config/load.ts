import { resolve } from 'node:path';
import { semanticProblems } from './checks.js';
import { parseCoercing } from './coerce.js';
import { embeddedDefault } from './default.js';
import { findConfig } from './discover.js';
import { type Env, substituteEnv } from './env.js';
import { applyOverrides, type FlagOverrides } from './overrides.js';
import { error, InvalidConfigError, type Problem, problemsOf } from './problems.js';
import { type FullConfig, fullConfigSchema } from './schema.js';

export interface LoadOptions {
  /** `--config FILE`; otherwise the config is searched for in `cwd`. */
  file?: string | undefined;
  cwd?: string | undefined;
  env?: Env | undefined;
  flags?: FlagOverrides | undefined;
}

export interface LoadedConfig {
  /** The file the config came from; undefined for the embedded default. */
  filepath: string | undefined;
  /** The config as the gateway is given it: substituted and overridden, not yet parsed. */
  input: Record<string, unknown>;
  /** The parsed config with its defaults filled. */
  config: FullConfig;
  /** Environment variables and flags that overrode the file (names only). */
  applied: string[];
  warnings: Problem[];
}

/**
 * Finds, reads, substitutes, overrides and validates the config: schema first, then the
 * semantic checks. Throws an `InvalidConfigError` listing every problem.
 *
 * @example const { config, input } = await loadConfig({ file: 'gateway.yaml', env: process.env })
 */
export async function loadConfig(opts: LoadOptions = {}): Promise<LoadedConfig> {
  const cwd = resolve(opts.cwd ?? process.cwd());
  const env = opts.env ?? process.env;
  const found = await findConfig({ file: opts.file, cwd });
  const filepath = found?.filepath;
  const fail = (problems: Problem[]): never => {
    throw new InvalidConfigError(problems, filepath);
  };

  let raw: unknown = found ? found.raw : embeddedDefault(env);
  let substituted = new Set<string>();
  if (!found || found.kind === 'data') {
    const result = substituteEnv(raw, env);
    if (result.problems.length > 0) fail(result.problems);
    raw = result.value;
    substituted = result.substituted;
  }
  raw ??= {};
  if (typeof raw !== 'object' || Array.isArray(raw) || raw === null) {
    return fail([error('', 'expected a mapping of settings (services, routes, ...) at the top level')]);
  }
  // Every load reads a fresh tree, so overriding and coercing it in place touches nothing shared.
  const input = raw as Record<string, unknown>;
  const overrides = applyOverrides(input, env, opts.flags);
  if (overrides.problems.length > 0) fail(overrides.problems);

  let config: FullConfig;
  try {
    config = parseCoercing(fullConfigSchema, input, substituted);
  } catch (err) {
    return fail(problemsOf(err));
  }
  const semantic = semanticProblems(config);
  const warnings = semantic.filter((p) => p.severity === 'warning');
  if (semantic.some((p) => p.severity === 'error')) fail(semantic);
  return { filepath, input, config, applied: overrides.applied, warnings };
}
