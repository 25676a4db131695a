import { z } from 'zod';
import type { ComposedSchema } from './plugin-schema.js';

export const SCHEMA_ID = 'https://lucid-gateway.dev/schema/lucid-gateway.config.json';

type Json = Record<string, unknown>;

/**
 * The JSON Schema of a config file as written (durations and sizes as strings), for editors:
 * core's settings and every plugin's in `schema`.
 *
 * @example writeFileSync('schema.json', JSON.stringify(configJsonSchema(composeConfigSchema(plugins)), null, 2))
 */
export function configJsonSchema(schema: ComposedSchema): Json {
  const { $schema, ...rest } = z.toJSONSchema(schema.config, {
    io: 'input',
    unrepresentable: 'any',
    target: 'draft-2020-12',
  }) as Json;
  return { $schema, $id: SCHEMA_ID, title: 'Lucid Gateway config', ...rest };
}

interface Row {
  path: string;
  type: string;
  def: string;
}

/**
 * The configuration reference (docs/config.md): one table per top-level section, every key with its
 * type and default, generated from the composed schema so it cannot drift from what is accepted.
 */
export function configReference(schema: ComposedSchema): string {
  const rows: Row[] = [];
  const defaults = schema.config.parse({
    services: { example: { targets: ['http://127.0.0.1:9000'] } },
    routes: [{ prefix: '/example', service: 'example', auth: 'public' }],
  });
  walk(configJsonSchema(schema), [], rows, defaults);
  const sections = new Map<string, Row[]>();
  for (const row of rows) {
    const top = row.path.split(/[.[]/)[0]!;
    if (!sections.has(top)) sections.set(top, []);
    sections.get(top)!.push(row);
  }
  let out = `# Configuration reference

Generated from the config schema by \`node scripts/config-docs.mjs\` (a test fails when it is stale).
Durations are written \`30s\`, \`500ms\`, \`2m\`; sizes \`10mb\`, \`16kb\`; rates \`100/min\`, \`5/10s\`.
String values may use \`\${VAR}\` and \`\${VAR:-default}\`. \`<name>\` stands for a key you choose;
\`[]\` for each item of a list. Editors autocomplete from [packages/cli/schema.json](../packages/cli/schema.json).
`;
  for (const [top, list] of sections) {
    out += `\n## \`${top}\`\n\n| key | type | default |\n|---|---|---|\n`;
    for (const r of list) out += `| \`${r.path}\` | ${r.type} | ${r.def} |\n`;
  }
  return out;
}

function walk(node: unknown, path: string[], rows: Row[], defaults: unknown): void {
  if (!node || typeof node !== 'object') return;
  const n = node as Json;
  const options = (n.anyOf ?? n.oneOf) as Json[] | undefined;
  const objectOption = options?.find((o) => o.type === 'object' && o.properties);
  if (n.type === 'object' && n.properties) {
    for (const [key, child] of Object.entries(n.properties as Json))
      walk(child, [...path, key], rows, defaults);
    return;
  }
  if (objectOption && path.length > 0) {
    const others = options!
      .filter((o) => o !== objectOption)
      .map(typeOf)
      .filter(Boolean);
    if (others.length) rows.push(row(path, `${others.join(' or ')} or an object:`, n, defaults));
    walk(objectOption, path, rows, defaults);
    return;
  }
  if (n.type === 'object' && n.additionalProperties && typeof n.additionalProperties === 'object') {
    const child = n.additionalProperties as Json;
    if (child.type === 'object' || child.anyOf || child.oneOf)
      walk(child, [...path, '<name>'], rows, defaults);
    else rows.push(row([...path, '<name>'], typeOf(child), child, defaults));
    return;
  }
  const items = n.items as Json | undefined;
  if (n.type === 'array' && items && (items.type === 'object' || items.anyOf) && items.properties) {
    walk(items, [...path, '[]'], rows, defaults);
    return;
  }
  rows.push(row(path, typeOf(n), n, defaults));
}

function typeOf(node: Json | undefined): string {
  if (!node) return '';
  if (node.const !== undefined) return `\`${JSON.stringify(node.const)}\``;
  if (node.enum) return (node.enum as unknown[]).map((e) => `\`${e}\``).join(' \\| ');
  const opts = (node.anyOf ?? node.oneOf) as Json[] | undefined;
  if (opts) return [...new Set(opts.map(typeOf).filter(Boolean))].join(' or ');
  const t = Array.isArray(node.type) ? node.type : [node.type];
  if (t.includes('string') && t.includes('number')) return 'duration or size';
  if (node.type === 'array') return `list of ${typeOf(node.items as Json) || 'values'}`;
  if (node.type === 'object') return 'object';
  return (node.type as string | undefined) ?? 'any';
}

function row(path: string[], type: string, node: Json, defaults: unknown): Row {
  const key = path
    .map((p, i) => (p === '[]' ? '[]' : i === 0 ? p : `.${p}`))
    .join('')
    .replace(/\.\[\]/g, '[]');
  let kind = type;
  if (kind === 'duration or size') {
    // A window or a timeout is a duration wherever it sits (`limits.minBodyRate.window`).
    const last = String(path.at(-1));
    kind = /window|timeout|interval/i.test(last)
      ? 'duration'
      : /limits|size|memory|maxEntry/i.test(path.join('.'))
        ? 'size'
        : 'duration';
  }
  let value = node?.default;
  if (value === undefined) value = lookup(defaults, path);
  return { path: key, type: kind || 'any', def: formatDefault(path, value, kind) };
}

function lookup(obj: unknown, path: string[]): unknown {
  let cur = obj;
  for (const p of path) {
    if (cur === undefined || cur === null) return undefined;
    const o = cur as Record<string, unknown>;
    cur = p === '<name>' ? Object.values(o)[0] : p === '[]' ? (o as unknown as unknown[])[0] : o[p];
  }
  return cur;
}

function formatDefault(path: string[], value: unknown, type: string): string {
  if (value === undefined) return '';
  const last = String(path.at(-1));
  if (typeof value === 'number' && type === 'duration') return `\`${human(value, 'ms')}\``;
  // Counts (`limits.connections`, `queue.size`) are integers, not bytes.
  if (typeof value === 'number' && type !== 'integer' && /limits|size|memory/i.test(path.join('.')))
    return `\`${human(value, 'b')}\``;
  if (
    typeof value === 'number' &&
    type !== 'integer' &&
    /timeout|interval|refresh|cooldown|maxage|keepalive|shutdown|headers|request|connect|idle|wait|tolerance|age/i.test(
      last,
    )
  )
    return `\`${human(value, 'ms')}\``;
  if (
    typeof value === 'object' &&
    value !== null &&
    !Array.isArray(value) &&
    'limit' in value &&
    'windowMs' in value
  ) {
    const rate = value as { limit: number; windowMs: number };
    return `\`${rate.limit}/${human(rate.windowMs, 'ms')}\``;
  }
  return `\`${JSON.stringify(value)}\``.replace(/\|/g, '\\|');
}

function human(n: number, unit: 'b' | 'ms'): string {
  const steps: Array<[string, number]> =
    unit === 'b'
      ? [
          ['gb', 1024 ** 3],
          ['mb', 1024 ** 2],
          ['kb', 1024],
        ]
      : [
          ['h', 3_600_000],
          ['m', 60_000],
          ['s', 1000],
        ];
  for (const [u, f] of steps) if (n >= f && n % f === 0) return `${n / f}${u}`;
  return `${n}${unit}`;
}
