/** An OpenAPI document as parsed JSON; its shape is checked where it is read, not trusted. */
export type OpenApiDoc = Record<string, unknown>;
type Node = Record<string, unknown>;

/** The document was had but is not one the gateway can merge (its message is safe to show). */
export class DocumentError extends Error {
  override name = 'DocumentError';
}

export const isObject = (v: unknown): v is Node => typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * Parses a document as JSON or YAML (by its first character; JSON is YAML too, but the JSON
 * parser is faster and stricter) and checks that it is OpenAPI 3.0 or 3.1.
 *
 * @example await parseOpenApi('openapi: 3.1.0\ninfo: { title: auth, version: "1" }\npaths: {}')
 */
export async function parseOpenApi(text: string): Promise<OpenApiDoc> {
  const trimmed = text.trimStart();
  // YAML aliases are capped (the library's default is 100) so a small document cannot expand without bound.
  let value: unknown;
  try {
    if (trimmed.startsWith('{')) value = JSON.parse(trimmed);
    // yaml is CommonJS: its exports are `default` under Node and in the CLI's bundle alike.
    else value = (await import('yaml')).default.parse(text, { maxAliasCount: 100 });
  } catch {
    throw new DocumentError('not valid JSON or YAML');
  }
  if (!isObject(value)) throw new DocumentError('not an OpenAPI document (expected an object)');
  const version = value.openapi;
  if (typeof version !== 'string' || !/^3\.[01]\.\d+$/.test(version)) {
    const found =
      typeof value.swagger === 'string' ? `swagger ${value.swagger}` : `openapi ${String(version)}`;
    throw new DocumentError(`unsupported document version (${found}); OpenAPI 3.0 and 3.1 are merged`);
  }
  if (value.paths !== undefined && !isObject(value.paths))
    throw new DocumentError('"paths" is not an object');
  return value;
}

/** YAML text of `value`; the library is loaded on first use, so a gateway that never needs it never holds it. */
export async function toYaml(value: unknown): Promise<string> {
  const { stringify } = (await import('yaml')).default;
  return stringify(value, { aliasDuplicateObjects: false });
}

// Values that are data, not schemas: a key named "nullable" inside them is the user's own.
const DATA_KEYS = new Set(['example', 'examples', 'default', 'enum', 'const', 'x-examples']);

/**
 * Rewrites a 3.0 document as 3.1 (a copy; the input is untouched): `nullable` becomes a `null`
 * type, boolean `exclusiveMinimum`/`exclusiveMaximum` become numbers. A 3.1 document is copied as is.
 */
export function upgradeTo31(doc: OpenApiDoc): OpenApiDoc {
  const copy = structuredClone(doc);
  if (String(copy.openapi).startsWith('3.1')) return copy;
  walk(copy);
  copy.openapi = '3.1.0';
  return copy;
}

function walk(node: unknown): void {
  if (Array.isArray(node)) {
    for (const item of node) walk(item);
    return;
  }
  if (!isObject(node)) return;
  for (const key of Object.keys(node)) if (!DATA_KEYS.has(key)) walk(node[key]);
  upgradeSchema(node);
}

function upgradeSchema(schema: Node): void {
  for (const [flag, bound] of [
    ['exclusiveMinimum', 'minimum'],
    ['exclusiveMaximum', 'maximum'],
  ] as const) {
    if (typeof schema[flag] !== 'boolean') continue;
    if (schema[flag] && typeof schema[bound] === 'number') {
      schema[flag] = schema[bound];
      delete schema[bound];
    } else delete schema[flag];
  }
  if (typeof schema.nullable !== 'boolean') return;
  const nullable = schema.nullable;
  delete schema.nullable;
  if (!nullable) return;
  if (Array.isArray(schema.enum) && !schema.enum.includes(null)) schema.enum = [...schema.enum, null];
  if (typeof schema.type === 'string') schema.type = [schema.type, 'null'];
  else if (Array.isArray(schema.type)) {
    if (!schema.type.includes('null')) schema.type = [...schema.type, 'null'];
  } else if (schema.$ref !== undefined || schema.allOf || schema.oneOf || schema.anyOf) {
    // A 3.0 `$ref` ignores its siblings; 3.1 says "this or null" with anyOf.
    const inner: Node = {};
    for (const key of ['$ref', 'allOf', 'oneOf', 'anyOf'] as const) {
      if (schema[key] !== undefined) {
        inner[key] = schema[key];
        delete schema[key];
      }
    }
    schema.anyOf = [inner, { type: 'null' }];
  }
}
