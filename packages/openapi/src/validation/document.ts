/** The OpenAPI versions the validator reads. */
export type OpenApiVersion = '3.0' | '3.1';

/** The id under which a document is known to ajv: its schemas are compiled as `$ref`s into it. */
export const DOCUMENT_ID = 'lucid:openapi';

// A document deeper than this is not one a service meant to write.
const MAX_DOCUMENT_DEPTH = 256;

export class ValidationDocumentError extends Error {
  override name = 'ValidationDocumentError';
}

/** The document's version, from its `openapi` field. */
export function versionOf(doc: Record<string, unknown>): OpenApiVersion {
  const v = doc.openapi;
  if (typeof v === 'string' && /^3\.0\.\d+/.test(v)) return '3.0';
  if (typeof v === 'string' && /^3\.1\.\d+/.test(v)) return '3.1';
  throw new ValidationDocumentError(
    `openapi: version ${JSON.stringify(v)} is not one the validator reads (3.0.x or 3.1.x)`,
  );
}

/**
 * A copy of the document that JSON Schema validators read as the document meant: for 3.0,
 * `nullable: true` becomes a null type and boolean `exclusiveMinimum`/`exclusiveMaximum` become the
 * numeric ones. The caller's document is never changed. Keys are copied as own data properties, so a
 * document's `__proto__` key stays a key.
 */
export function normalize(doc: Record<string, unknown>, version: OpenApiVersion): Record<string, unknown> {
  return copy(doc, version, 0) as Record<string, unknown>;
}

function copy(value: unknown, version: OpenApiVersion, depth: number): unknown {
  if (depth > MAX_DOCUMENT_DEPTH)
    throw new ValidationDocumentError(`is nested deeper than ${MAX_DOCUMENT_DEPTH} levels`);
  if (Array.isArray(value)) return value.map((v) => copy(v, version, depth + 1));
  if (value === null || typeof value !== 'object') return value;
  const out: Record<string, unknown> = {};
  for (const key of Object.keys(value)) {
    Object.defineProperty(out, key, {
      value: copy((value as Record<string, unknown>)[key], version, depth + 1),
      enumerable: true,
      writable: true,
      configurable: true,
    });
  }
  return version === '3.0' ? fromOpenApi30(out) : out;
}

/** One 3.0 schema object's keywords that JSON Schema spells otherwise. */
function fromOpenApi30(schema: Record<string, unknown>): Record<string, unknown> {
  for (const [flag, bound] of [
    ['exclusiveMinimum', 'minimum'],
    ['exclusiveMaximum', 'maximum'],
  ] as const) {
    if (typeof schema[flag] !== 'boolean') continue;
    if (schema[flag] === true && typeof schema[bound] === 'number') {
      schema[flag] = schema[bound];
      delete schema[bound];
    } else delete schema[flag];
  }
  if (schema.nullable !== true) return schema;
  delete schema.nullable;
  if (typeof schema.type === 'string') {
    schema.type = [schema.type, 'null'];
    if (Array.isArray(schema.enum) && !schema.enum.includes(null)) schema.enum = [...schema.enum, null];
    return schema;
  }
  // No type of its own (a $ref, a composition): null, or whatever the rest allows.
  return { anyOf: [{ type: 'null' }, schema] };
}

/** A JSON pointer's segment, escaped. */
export const pointerSegment = (s: string) => s.replace(/~/g, '~0').replace(/\//g, '~1');

/**
 * Follows `$ref`s (internal ones: `#/components/...`) from an object of the document to the object
 * they name, with the JSON pointer of where it ended; a loop or a ref outside the document is refused.
 */
export function deref(
  doc: Record<string, unknown>,
  value: unknown,
  pointer: string,
): { value: Record<string, unknown>; pointer: string } {
  const seen = new Set<string>();
  let current = value;
  let at = pointer;
  while (isObject(current) && typeof current.$ref === 'string') {
    const ref = current.$ref;
    if (!ref.startsWith('#/') && ref !== '#') {
      throw new ValidationDocumentError(
        `${at}: $ref ${JSON.stringify(ref)} is not inside the document (only "#/..." refs are read)`,
      );
    }
    if (seen.has(ref))
      throw new ValidationDocumentError(`${at}: $ref ${JSON.stringify(ref)} refers to itself`);
    seen.add(ref);
    at = ref.slice(1);
    current = resolvePointer(doc, at);
    if (current === undefined)
      throw new ValidationDocumentError(`$ref ${JSON.stringify(ref)} names nothing in the document`);
  }
  if (!isObject(current)) throw new ValidationDocumentError(`${at || '/'}: should be an object`);
  return { value: current, pointer: at };
}

function resolvePointer(doc: unknown, pointer: string): unknown {
  if (pointer === '') return doc;
  let current: unknown = doc;
  for (const raw of pointer.slice(1).split('/')) {
    const key = decodeSegment(raw).replace(/~1/g, '/').replace(/~0/g, '~');
    if (!isObject(current) && !Array.isArray(current)) return undefined;
    if (!Object.hasOwn(current as object, key)) return undefined;
    current = (current as Record<string, unknown>)[key];
  }
  return current;
}

function decodeSegment(raw: string): string {
  if (!raw.includes('%')) return raw;
  try {
    return decodeURIComponent(raw);
  } catch {
    return raw;
  }
}

export function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
