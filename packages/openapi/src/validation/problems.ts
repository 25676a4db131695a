import type { ErrorObject } from 'ajv';

/** One thing wrong with a request (or an answer), by where it is: `/body/amount`, `query.limit`, `header.x-id`. */
export interface Problem {
  location: string;
  message: string;
}

/** Problems listed in one answer at most: a body with a million wrong items gets the first few. */
export const MAX_PROBLEMS = 20;

/** How a location is written: the body as a JSON pointer, a parameter as `in.name` with dots below it. */
export type LocationStyle = { kind: 'body'; root: string } | { kind: 'parameters'; in: string };

const unescapePointer = (s: string) => s.replace(/~1/g, '/').replace(/~0/g, '~');

function locate(style: LocationStyle, pointer: string): string {
  if (style.kind === 'body') return `${style.root}${pointer}`;
  if (pointer === '') return style.in;
  return `${style.in}.${pointer.slice(1).split('/').map(unescapePointer).join('.')}`;
}

const escapePointer = (s: string) => s.replace(/~/g, '~0').replace(/\//g, '~1');

const list = (values: unknown) =>
  (Array.isArray(values) ? values : [values]).map((v) => JSON.stringify(v)).join(', ');

/** ajv's errors in the project's words; what a oneOf/anyOf already says is not repeated by its branches. */
export function toProblems(errors: readonly ErrorObject[], style: LocationStyle, into: Problem[]): void {
  const composite: string[] = [];
  for (const e of errors) {
    if (e.keyword === 'oneOf' || e.keyword === 'anyOf' || e.keyword === 'not')
      composite.push(`${e.schemaPath}/`);
  }
  for (const e of errors) {
    if (into.length >= MAX_PROBLEMS) return;
    if (composite.some((prefix) => e.schemaPath.startsWith(prefix))) continue;
    // A failed `if` is explained by its `then`/`else` error; a failed `$ref` by what it points at.
    if (e.keyword === 'if') continue;
    const { pointer, message } = describe(e);
    into.push({ location: locate(style, pointer), message });
  }
}

function describe(e: ErrorObject): { pointer: string; message: string } {
  const p = e.params as Record<string, unknown>;
  const at = e.instancePath;
  switch (e.keyword) {
    case 'required':
      return { pointer: `${at}/${escapePointer(String(p.missingProperty))}`, message: 'is required' };
    case 'additionalProperties':
      return {
        pointer: `${at}/${escapePointer(String(p.additionalProperty))}`,
        message: 'is not allowed here',
      };
    case 'unevaluatedProperties':
      return {
        pointer: `${at}/${escapePointer(String(p.unevaluatedProperty))}`,
        message: 'is not allowed here',
      };
    case 'dependentRequired':
    case 'dependencies':
      return {
        pointer: `${at}/${escapePointer(String(p.missingProperty))}`,
        message: `is required when ${JSON.stringify(p.property)} is present`,
      };
    case 'type':
      return { pointer: at, message: `should be ${article(String(p.type))}` };
    case 'enum':
      return { pointer: at, message: `should be one of ${list(p.allowedValues)}` };
    case 'const':
      return { pointer: at, message: `should be ${JSON.stringify(p.allowedValue)}` };
    case 'format':
      return { pointer: at, message: `should be a valid ${p.format}` };
    case 'pattern':
      return { pointer: at, message: `should match the pattern ${JSON.stringify(p.pattern)}` };
    case 'minimum':
    case 'maximum':
    case 'exclusiveMinimum':
    case 'exclusiveMaximum':
      return {
        pointer: at,
        message: `should be ${COMPARISON[String(p.comparison)] ?? p.comparison} ${p.limit}`,
      };
    case 'multipleOf':
      return { pointer: at, message: `should be a multiple of ${p.multipleOf}` };
    case 'minLength':
      return { pointer: at, message: `should be at least ${p.limit} characters long` };
    case 'maxLength':
      return { pointer: at, message: `should be at most ${p.limit} characters long` };
    case 'minItems':
      return { pointer: at, message: `should have at least ${p.limit} items` };
    case 'maxItems':
      return { pointer: at, message: `should have at most ${p.limit} items` };
    case 'uniqueItems':
      return { pointer: at, message: 'should have no duplicate items' };
    case 'minProperties':
      return { pointer: at, message: `should have at least ${p.limit} properties` };
    case 'maxProperties':
      return { pointer: at, message: `should have at most ${p.limit} properties` };
    case 'oneOf':
      return {
        pointer: at,
        message:
          p.passingSchemas === null
            ? 'should match exactly one of the allowed shapes (it matches none)'
            : 'should match exactly one of the allowed shapes (it matches more than one)',
      };
    case 'anyOf':
      return { pointer: at, message: 'should match at least one of the allowed shapes' };
    case 'not':
      return { pointer: at, message: 'should not match the excluded shape' };
    case 'propertyNames':
      return {
        pointer: `${at}/${escapePointer(String(p.propertyName))}`,
        message: 'is not an allowed property name',
      };
    case 'false schema':
      return { pointer: at, message: 'is not allowed here' };
    default:
      return { pointer: at, message: e.message ?? `fails ${e.keyword}` };
  }
}

const COMPARISON: Record<string, string> = {
  '>=': 'at least',
  '<=': 'at most',
  '>': 'more than',
  '<': 'less than',
};

function article(type: string): string {
  return type
    .split(',')
    .map((t) => (t === 'null' ? 'null' : /^[aeiou]/.test(t) ? `an ${t}` : `a ${t}`))
    .join(' or ');
}
