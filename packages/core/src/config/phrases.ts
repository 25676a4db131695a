/** How a config's values and kinds are named in messages: `a list`, `a number (3.5)`, `true or false`. */

const KINDS: Record<string, string> = {
  string: 'text',
  number: 'a number',
  int: 'a whole number',
  boolean: 'true or false',
  object: 'a mapping (key: value)',
  array: 'a list',
  record: 'a mapping (key: value)',
  null: 'nothing (null)',
  bigint: 'a whole number',
};

/** A kind a schema expects, in words. */
export function phrase(expected: string): string {
  return KINDS[expected] ?? expected;
}

/** What a config holds at some place, in words, briefly: `text ("yes")`, `a list`, `a number (1.5)`. */
export function describeValue(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'a list';
  switch (typeof value) {
    case 'string':
      return `text (${JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…` : value)})`;
    case 'number':
      return `a number (${value})`;
    case 'boolean':
      return String(value);
    case 'object':
      return 'a mapping';
    default:
      return typeof value;
  }
}
