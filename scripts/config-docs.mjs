// Renders docs/config.md from the config's one schema (the JSON Schema the CLI publishes, plus the
// defaults the zod schema fills in), so the reference cannot drift from what the gateway accepts.
//   node scripts/config-docs.mjs          write docs/config.md
//   node scripts/config-docs.mjs --check  exit 1 when docs/config.md is stale
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));

export async function renderConfigDocs() {
  const { configJsonSchema, fullConfigSchema } = await import(`${root}packages/cli/dist/index.js`);
  const schema = configJsonSchema();
  const defaults = fullConfigSchema.parse({
    services: { example: { targets: ['http://127.0.0.1:9000'] } },
    routes: [{ prefix: '/example', service: 'example' }],
  });
  const rows = [];
  walk(schema, [], rows, defaults);
  const sections = new Map();
  for (const row of rows) {
    const top = row.path.split(/[.[]/)[0];
    if (!sections.has(top)) sections.set(top, []);
    sections.get(top).push(row);
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

function walk(node, path, rows, defaults) {
  if (!node || typeof node !== 'object') return;
  const options = node.anyOf ?? node.oneOf;
  const objectOption = options?.find((o) => o.type === 'object' && o.properties);
  if (node.type === 'object' && node.properties) {
    for (const [key, child] of Object.entries(node.properties)) walk(child, [...path, key], rows, defaults);
    return;
  }
  if (objectOption && path.length > 0) {
    const others = options
      .filter((o) => o !== objectOption)
      .map(typeOf)
      .filter(Boolean);
    if (others.length) rows.push(row(path, `${others.join(' or ')} or an object:`, node, defaults));
    walk(objectOption, path, rows, defaults);
    return;
  }
  if (node.type === 'object' && node.additionalProperties && typeof node.additionalProperties === 'object') {
    const child = node.additionalProperties;
    if (child.type === 'object' || child.anyOf || child.oneOf)
      walk(child, [...path, '<name>'], rows, defaults);
    else rows.push(row([...path, '<name>'], typeOf(child), child, defaults));
    return;
  }
  if (
    node.type === 'array' &&
    node.items &&
    (node.items.type === 'object' || node.items.anyOf) &&
    node.items.properties
  ) {
    walk(node.items, [...path, '[]'], rows, defaults);
    return;
  }
  rows.push(row(path, typeOf(node), node, defaults));
}

function typeOf(node) {
  if (!node) return '';
  if (node.const !== undefined) return `\`${JSON.stringify(node.const)}\``;
  if (node.enum) return node.enum.map((e) => `\`${e}\``).join(' \\| ');
  const opts = node.anyOf ?? node.oneOf;
  if (opts) return [...new Set(opts.map(typeOf).filter(Boolean))].join(' or ');
  const t = Array.isArray(node.type) ? node.type : [node.type];
  if (t.includes('string') && t.includes('number')) return 'duration or size';
  if (node.type === 'array') return `list of ${typeOf(node.items) || 'values'}`;
  if (node.type === 'object') return 'object';
  return node.type ?? 'any';
}

function row(path, type, node, defaults) {
  const key = path
    .map((p, i) => (p === '[]' ? '[]' : i === 0 ? p : `.${p}`))
    .join('')
    .replace(/\.\[\]/g, '[]');
  if (type === 'duration or size') {
    const last = String(path.at(-1));
    type = /window|timeout|interval/i.test(last)
      ? 'duration'
      : /limits|size/i.test(path.join('.'))
        ? 'size'
        : 'duration';
  }
  let value = node?.default;
  if (value === undefined) value = lookup(defaults, path);
  return { path: key, type: type || 'any', def: formatDefault(path, value, type) };
}

function lookup(obj, path) {
  let cur = obj;
  for (const p of path) {
    if (cur === undefined || cur === null) return undefined;
    cur = p === '<name>' ? Object.values(cur)[0] : p === '[]' ? cur[0] : cur[p];
  }
  return cur;
}

function formatDefault(path, value, type) {
  if (value === undefined) return '';
  const last = String(path.at(-1));
  if (typeof value === 'number' && type === 'duration') return `\`${human(value, 'ms')}\``;
  if (typeof value === 'number' && type !== 'integer' && /limits|size/i.test(path.join('.')))
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
  )
    return `\`${value.limit}/${human(value.windowMs, 'ms')}\``;
  return `\`${JSON.stringify(value)}\``.replace(/\|/g, '\\|');
}

function human(n, unit) {
  if (unit === 'b') {
    for (const [u, f] of [
      ['gb', 1024 ** 3],
      ['mb', 1024 ** 2],
      ['kb', 1024],
    ])
      if (n >= f && n % f === 0) return `${n / f}${u}`;
    return `${n}b`;
  }
  for (const [u, f] of [
    ['h', 3_600_000],
    ['m', 60_000],
    ['s', 1000],
  ])
    if (n >= f && n % f === 0) return `${n / f}${u}`;
  return `${n}ms`;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const text = await renderConfigDocs();
  const file = `${root}docs/config.md`;
  if (process.argv.includes('--check')) {
    const current = (() => {
      try {
        return readFileSync(file, 'utf8');
      } catch {
        return '';
      }
    })();
    if (current !== text) {
      console.error('docs/config.md is stale: run node scripts/config-docs.mjs');
      process.exit(1);
    }
  } else {
    writeFileSync(file, text);
    console.log(`wrote ${file}`);
  }
}
