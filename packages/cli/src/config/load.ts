import { resolve } from 'node:path';
import { type ConfigIssue, validateConfig } from '@lucid/gateway-core';
import { cliSchema, providedBy } from '../plugins.js';
import { coerceSubstituted } from './coerce.js';
import { embeddedDefault } from './default.js';
import { findConfig } from './discover.js';
import { type Env, substituteEnv } from './env.js';
import { applyOverrides, type FlagOverrides } from './overrides.js';
import { error, InvalidConfigError, type Problem } from './problems.js';
import type { FullConfig } from './schema.js';

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

  coerceSubstituted(cliSchema.config, input, substituted);
  const checked = checkConfig(input);
  if (checked.config === undefined) return fail(checked.problems);
  const warnings = checked.problems.filter((p) => p.severity === 'warning');
  return { filepath, input, config: checked.config, applied: overrides.applied, warnings };
}

/**
 * The schema and every semantic check (core's and the plugins') in one pass, as the gateway will
 * run them with the plugins this config turns on: every problem at once.
 *
 * @example checkConfig({ routes: [{ prefix: '/a', service: 'nope' }] }).problems
 */
export function checkConfig(input: Record<string, unknown>): {
  config: FullConfig | undefined;
  problems: Problem[];
} {
  const { config, issues } = validateConfig(input, { schema: cliSchema, provides: providedBy(input) });
  return { config: config as FullConfig | undefined, problems: issues.map(toProblem) };
}

function toProblem(issue: ConfigIssue): Problem {
  return {
    path: issue.path,
    message: issue.message,
    severity: issue.severity ?? 'error',
    ...(issue.fix !== undefined && { fix: issue.fix }),
  };
}
