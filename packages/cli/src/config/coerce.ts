import { formatPath } from '@lucid/gateway-core';
import type { z } from 'zod';

/**
 * Where `schema` wants a number or boolean and finds the string an environment variable produced
 * (`port: ${PORT:-8080}`), converts that value in place, until nothing more converts. Values
 * written as strings in the file itself are left for the schema to reject.
 */
export function coerceSubstituted(schema: z.ZodType, input: unknown, substituted: ReadonlySet<string>): void {
  for (let round = 0; round < 8 && substituted.size > 0; round++) {
    const result = schema.safeParse(input);
    if (result.success) return;
    let changed = false;
    for (const issue of result.error.issues) {
      if (issue.code !== 'invalid_type' || !substituted.has(formatPath(issue.path))) continue;
      const parent = at(input, issue.path.slice(0, -1));
      const key = issue.path[issue.path.length - 1];
      if (parent === undefined || key === undefined) continue;
      const value = parent[key as string];
      if (typeof value !== 'string') continue;
      const converted = convert(value, issue.expected);
      if (converted === undefined) continue;
      parent[key as string] = converted;
      changed = true;
    }
    if (!changed) return;
  }
}

function convert(value: string, expected: string): number | boolean | undefined {
  if (expected === 'number' || expected === 'int') {
    const n = Number(value);
    return value.trim() !== '' && Number.isFinite(n) ? n : undefined;
  }
  if (expected === 'boolean') return value === 'true' ? true : value === 'false' ? false : undefined;
  return undefined;
}

function at(root: unknown, path: readonly PropertyKey[]): Record<string, unknown> | undefined {
  let node = root;
  for (const seg of path) {
    if (node === null || typeof node !== 'object') return undefined;
    node = (node as Record<string, unknown>)[seg as string];
  }
  return node !== null && typeof node === 'object' ? (node as Record<string, unknown>) : undefined;
}
