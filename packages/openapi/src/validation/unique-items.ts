import type { Ajv } from 'ajv';

/**
 * `uniqueItems` in linear time. ajv compares items of objects pairwise (quadratic: a 64 KB body of
 * 20,000 `{}` would take seconds); this keys each item by a canonical text (object keys sorted) in a
 * Set instead. JSON equality is kept: `{"a":1,"b":2}` and `{"b":2,"a":1}` are the same item.
 */
export function linearUniqueItems(ajv: Ajv): void {
  ajv.removeKeyword('uniqueItems');
  ajv.addKeyword({
    keyword: 'uniqueItems',
    type: 'array',
    schemaType: 'boolean',
    errors: false,
    validate: (unique: boolean, data: unknown[]) => !unique || allDifferent(data),
  });
}

function allDifferent(items: readonly unknown[]): boolean {
  const seen = new Set<string>();
  for (const item of items) {
    const key = canonical(item);
    if (seen.has(key)) return false;
    seen.add(key);
  }
  return true;
}

function canonical(value: unknown): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value) ?? 'undefined';
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`;
  const keys = Object.keys(value).sort();
  return `{${keys.map((k) => `${JSON.stringify(k)}:${canonical((value as Record<string, unknown>)[k])}`).join(',')}}`;
}
