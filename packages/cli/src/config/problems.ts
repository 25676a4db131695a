import { ConfigError, type ConfigIssue } from '@lucid/gateway-core';

/** One thing wrong (or doubtful) in a config, named by its path, with a fix when there is one. */
export interface Problem {
  /** Where, as written in the config: `routes[2].service` (empty for the file as a whole). */
  path: string;
  message: string;
  fix?: string;
  severity: 'error' | 'warning';
}

/** A config that cannot be used; `problems` holds every error (and any warnings found on the way). */
export class InvalidConfigError extends Error {
  readonly problems: Problem[];
  /** The file the problems are in, when there is one. */
  readonly file: string | undefined;
  constructor(problems: Problem[], file?: string) {
    const errors = problems.filter((p) => p.severity === 'error');
    super(`invalid config${file ? ` ${file}` : ''}:\n${errors.map(formatProblem).join('\n')}`);
    this.name = 'InvalidConfigError';
    this.problems = problems;
    this.file = file;
  }
}

export const error = (path: string, message: string, fix?: string): Problem => ({
  path,
  message,
  severity: 'error',
  ...(fix !== undefined && { fix }),
});

export const warning = (path: string, message: string, fix?: string): Problem => ({
  path,
  message,
  severity: 'warning',
  ...(fix !== undefined && { fix }),
});

export function fromIssues(issues: readonly ConfigIssue[]): Problem[] {
  return issues.map((i) => error(i.path, i.message));
}

/** Turns core's `ConfigError` into problems; anything else is rethrown. */
export function problemsOf(err: unknown): Problem[] {
  if (err instanceof InvalidConfigError) return err.problems;
  if (err instanceof ConfigError || (err as Error)?.name === 'ConfigError') {
    return fromIssues((err as ConfigError).issues);
  }
  throw err;
}

/** `routes[2].service: unknown service "x"` plus an indented `fix:` line when there is one. */
export function formatProblem(p: Problem): string {
  const head = `  ${p.severity === 'error' ? 'error  ' : 'warning'} ${p.path || '(config)'}: ${p.message}`;
  return p.fix ? `${head}\n            fix: ${p.fix}` : head;
}
