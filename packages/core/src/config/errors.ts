import type { z } from 'zod';
import { didYouMean } from './suggest.js';

export interface ConfigIssue {
  /** Where, as written in the config: `routes[2].service`. */
  path: string;
  message: string;
}

/** A config that cannot run, with every problem named by its path and a fix. */
export class ConfigError extends Error {
  readonly issues: ConfigIssue[];
  constructor(issues: ConfigIssue[]) {
    super(`invalid config:\n${issues.map((i) => `  ${i.path || '(root)'}: ${i.message}`).join('\n')}`);
    this.name = 'ConfigError';
    this.issues = issues;
  }
}

export function formatPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const seg of path) {
    if (typeof seg === 'number') out += `[${seg}]`;
    else out += out ? `.${String(seg)}` : String(seg);
  }
  return out;
}

/** Parses with a zod schema and turns its issues into one `ConfigError` that a person can act on. */
export function parseWith<S extends z.ZodType>(schema: S, input: unknown): z.output<S> {
  const result = schema.safeParse(input);
  if (result.success) return result.data;
  throw new ConfigError(result.error.issues.flatMap((issue) => describeIssue(schema, issue)));
}

function describeIssue(root: z.ZodType, issue: z.core.$ZodIssue): ConfigIssue[] {
  if (issue.code === 'unrecognized_keys') {
    const known = knownKeysAt(root, issue.path);
    return issue.keys.map((key) => {
      const hint = known && didYouMean(key, known);
      return {
        path: formatPath([...issue.path, key]),
        message: `unknown key${hint ? ` (did you mean "${hint}"?)` : known ? ` (allowed: ${known.join(', ')})` : ''}`,
      };
    });
  }
  if (issue.code === 'invalid_union') {
    // Report the branch that got furthest, rather than "invalid input".
    const branches = issue.errors.filter((b) => b.length > 0);
    const best = branches.find((b) => b.some((i) => i.code !== 'invalid_type')) ?? branches[0];
    if (best) return best.flatMap((i) => describeIssue(root, { ...i, path: [...issue.path, ...i.path] }));
  }
  let message = issue.message;
  if (issue.code === 'invalid_type' && /received undefined/.test(message)) message = `required: ${message}`;
  return [{ path: formatPath(issue.path), message }];
}

/** The keys an object schema accepts at `path`, unwrapping defaults, optionals, pipes, arrays and records. */
function knownKeysAt(schema: z.ZodType, path: readonly PropertyKey[]): string[] | undefined {
  let node: unknown = schema;
  const step = (n: unknown): unknown => {
    const def = (n as { def?: Record<string, unknown> })?.def;
    if (!def) return n;
    if (def.innerType) return step(def.innerType);
    if (def.type === 'pipe') return step(def.in);
    return n;
  };
  node = step(node);
  for (const seg of path) {
    const def = (node as { def?: Record<string, unknown> }).def;
    if (!def) return undefined;
    if (def.type === 'object') node = (def.shape as Record<string, unknown>)[String(seg)];
    else if (def.type === 'array') node = def.element;
    else if (def.type === 'record') node = def.valueType;
    else if (def.type === 'union') {
      node = (def.options as unknown[])
        .map(step)
        .find((o) => (o as { def?: { type?: string } }).def?.type === 'object');
      if (node) node = (step(node) as { def: { shape: Record<string, unknown> } }).def.shape[String(seg)];
    } else return undefined;
    if (!node) return undefined;
    node = step(node);
    const d = (node as { def?: Record<string, unknown> }).def;
    if (d?.type === 'union') {
      const obj = (d.options as unknown[])
        .map(step)
        .find((o) => (o as { def?: { type?: string } }).def?.type === 'object');
      if (obj) node = obj;
    }
  }
  const def = (node as { def?: Record<string, unknown> }).def;
  return def?.type === 'object' ? Object.keys(def.shape as object) : undefined;
}
