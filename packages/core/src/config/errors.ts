import type { z } from 'zod';
import { describeValue, phrase } from './phrases.js';
import { didYouMean } from './suggest.js';

export interface ConfigIssue {
  /** Where, as written in the config: `routes[2].service`. */
  path: string;
  message: string;
  /** How to mend it, when there is a clear way. */
  fix?: string;
  /** `error` (the default) stops the config; `warning` is reported and let through. */
  severity?: 'error' | 'warning';
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
  throw new ConfigError(describeIssues(schema, input, result.error.issues));
}

/** Every zod issue in the project's own words, each named by its path. */
export function describeIssues(
  root: z.ZodType,
  input: unknown,
  issues: readonly z.core.$ZodIssue[],
): ConfigIssue[] {
  return issues.flatMap((issue) => describeIssue(root, input, issue));
}

function describeIssue(root: z.ZodType, input: unknown, issue: z.core.$ZodIssue): ConfigIssue[] {
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
    const branches = issue.errors.filter((b) => b.length > 0);
    // Every branch refused the value itself: say what would do, all of it.
    const shallow = branches.every((b) => b.length === 1 && b[0]!.path.length === 0 && isKindIssue(b[0]!));
    if (shallow && branches.length > 0) {
      const value = valueAt(input, issue.path);
      const wanted = [...new Set(branches.map((b) => expectation(b[0]!)))];
      return [
        {
          path: formatPath(issue.path),
          message:
            value === undefined
              ? `required: ${orList(wanted)}`
              : `expected ${orList(wanted)}, got ${describeValue(value)}`,
        },
      ];
    }
    // Else report the branch that got furthest (the one that took the value's kind).
    const best = branches.find((b) => b.some((i) => !isKindIssue(i) || i.path.length > 0)) ?? branches[0];
    if (best) {
      return best.flatMap((i) => describeIssue(root, input, { ...i, path: [...issue.path, ...i.path] }));
    }
  }
  return [{ path: formatPath(issue.path), message: messageOf(issue, valueAt(input, issue.path)) }];
}

/** zod's own wording starts like this; a message a schema spelled out is kept as it is. */
const LIBRARY_WORDING = /^(Invalid|Too (small|big)|Unrecognized|Expected|Required)/;

function messageOf(issue: z.core.$ZodIssue, value: unknown): string {
  if (!LIBRARY_WORDING.test(issue.message)) return issue.message;
  switch (issue.code) {
    case 'invalid_type':
      return value === undefined
        ? `required: ${phrase(issue.expected)}`
        : `expected ${phrase(issue.expected)}, got ${describeValue(value)}`;
    case 'invalid_value':
      return `expected ${expectation(issue)}${value === undefined ? '' : `, got ${describeValue(value)}`}`;
    case 'too_small':
    case 'too_big': {
      const bound = Number(issue.code === 'too_small' ? issue.minimum : issue.maximum);
      const word = issue.code === 'too_small' ? 'least' : 'most';
      if (issue.origin === 'array' || issue.origin === 'set')
        return `needs at ${word} ${bound} item${bound === 1 ? '' : 's'}`;
      if (issue.origin === 'string')
        return bound === 1 && word === 'least'
          ? 'must not be empty'
          : `must be at ${word} ${bound} characters`;
      const strict = issue.inclusive === false;
      return issue.code === 'too_small'
        ? `must be ${strict ? 'more than' : 'at least'} ${bound}`
        : `must be ${strict ? 'less than' : 'at most'} ${bound}`;
    }
    case 'invalid_format':
      return issue.format === 'starts_with'
        ? `must start with "${(issue as { prefix?: string }).prefix}"`
        : `is not a valid ${issue.format}`;
    case 'not_multiple_of':
      return `must be a multiple of ${issue.divisor}`;
    case 'invalid_key':
      return 'is not an allowed name';
    default:
      return 'is not a valid value here';
  }
}

/** Issues that refuse a value for its kind (wrong type, not one of the allowed values). */
function isKindIssue(issue: z.core.$ZodIssue): boolean {
  return issue.code === 'invalid_type' || issue.code === 'invalid_value';
}

/** What a kind issue wanted, in words: `a list`, `"a" or "b"`, `false`. */
function expectation(issue: z.core.$ZodIssue): string {
  if (issue.code === 'invalid_type') return phrase(issue.expected);
  if (issue.code === 'invalid_value') return orList(issue.values.map((v) => JSON.stringify(v)));
  return 'something else';
}

function orList(items: readonly string[]): string {
  if (items.length <= 1) return items[0] ?? '';
  return `${items.slice(0, -1).join(', ')} or ${items.at(-1)}`;
}

function valueAt(input: unknown, path: readonly PropertyKey[]): unknown {
  let cur = input;
  for (const seg of path) {
    if (cur === null || typeof cur !== 'object') return undefined;
    cur = Object.hasOwn(cur, seg) ? (cur as Record<PropertyKey, unknown>)[seg] : undefined;
  }
  return cur;
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
