import { deref, isObject, ValidationDocumentError } from './document.js';
import { MAX_JSON_DEPTH } from './json-body.js';
import type { Problem } from './problems.js';

export type ParameterIn = 'path' | 'query' | 'header' | 'cookie';

/** What a parameter's schema says its value is, enough to read it from text. */
export type Shape =
  | { type: 'string' | 'number' | 'integer' | 'boolean' | 'any' }
  | { type: 'array'; items: Shape }
  | { type: 'object'; properties: Record<string, Shape> };

/** A declared parameter, ready to be read from a request: its style decided at load. */
export interface ParameterReader {
  name: string;
  in: ParameterIn;
  /** The key in the object validated for its location: header names are lower case. */
  key: string;
  required: boolean;
  style: string;
  explode: boolean;
  shape: Shape;
  /** JSON in a parameter (`content: { application/json: ... }`) rather than a styled value. */
  json: boolean;
  /** JSON pointer of its schema in the document. */
  schemaPointer: string | undefined;
}

const DEFAULT_STYLE: Record<ParameterIn, string> = {
  path: 'simple',
  query: 'form',
  header: 'simple',
  cookie: 'form',
};
const STYLES: Record<ParameterIn, readonly string[]> = {
  path: ['simple', 'label', 'matrix'],
  query: ['form', 'spaceDelimited', 'pipeDelimited', 'deepObject'],
  header: ['simple'],
  cookie: ['form'],
};
// Sent as headers, but described elsewhere in the document: OpenAPI says such declarations are ignored.
const IGNORED_HEADERS = new Set(['accept', 'content-type', 'authorization']);

/** Reads a parameter object of the document (after its $ref) into a reader; undefined when OpenAPI says to ignore it. */
export function parameterReader(
  doc: Record<string, unknown>,
  param: Record<string, unknown>,
  pointer: string,
): ParameterReader | undefined {
  const name = param.name;
  const where = param.in as ParameterIn;
  if (typeof name !== 'string' || name === '')
    throw new ValidationDocumentError(`${pointer}: a parameter needs a name`);
  if (!(where in DEFAULT_STYLE))
    throw new ValidationDocumentError(`${pointer}: "in" should be path, query, header or cookie`);
  if (where === 'header' && IGNORED_HEADERS.has(name.toLowerCase())) return undefined;
  const style = typeof param.style === 'string' ? param.style : DEFAULT_STYLE[where];
  if (!STYLES[where].includes(style)) {
    throw new ValidationDocumentError(
      `${pointer}: style "${style}" is not one a ${where} parameter can have`,
    );
  }
  let schemaPointer: string | undefined;
  let json = false;
  if (param.schema !== undefined) schemaPointer = `${pointer}/schema`;
  else if (isObject(param.content)) {
    const [type] = Object.keys(param.content);
    if (type !== undefined) {
      json = true;
      const media = (param.content as Record<string, unknown>)[type];
      if (isObject(media) && media.schema !== undefined) {
        schemaPointer = `${pointer}/content/${type.replace(/~/g, '~0').replace(/\//g, '~1')}/schema`;
      }
    }
  }
  return {
    name,
    in: where,
    key: where === 'header' ? name.toLowerCase() : name,
    required: where === 'path' || param.required === true,
    style,
    explode: typeof param.explode === 'boolean' ? param.explode : style === 'form',
    shape:
      json || param.schema === undefined
        ? { type: 'any' }
        : shapeOf(doc, param.schema, `${pointer}/schema`, 0),
    json,
    schemaPointer,
  };
}

/** The shape a schema gives its values: types read through $ref, allOf, and 3.1's `[type, "null"]`. */
function shapeOf(doc: Record<string, unknown>, schema: unknown, pointer: string, depth: number): Shape {
  if (depth > 16 || !isObject(schema)) return { type: 'any' };
  const { value } = typeof schema.$ref === 'string' ? deref(doc, schema, pointer) : { value: schema };
  let type = value.type;
  if (Array.isArray(type)) type = type.find((t) => t !== 'null');
  if (type === undefined && Array.isArray(value.allOf)) {
    for (const part of value.allOf) {
      const shape = shapeOf(doc, part, pointer, depth + 1);
      if (shape.type !== 'any') return shape;
    }
  }
  if (type === 'array' || (type === undefined && value.items !== undefined)) {
    return { type: 'array', items: shapeOf(doc, value.items, pointer, depth + 1) };
  }
  if (type === 'object' || (type === undefined && isObject(value.properties))) {
    const properties: Record<string, Shape> = Object.create(null);
    if (isObject(value.properties)) {
      for (const [k, v] of Object.entries(value.properties))
        properties[k] = shapeOf(doc, v, pointer, depth + 1);
    }
    return { type: 'object', properties };
  }
  if (type === 'string' || type === 'number' || type === 'integer' || type === 'boolean') return { type };
  return { type: 'any' };
}

/** A query string's pairs, decoded (`+` is a space), in order. Undefined when its percent-encoding is broken. */
export function parseQuery(raw: string): Map<string, string[]> | undefined {
  const out = new Map<string, string[]>();
  if (raw === '') return out;
  for (const pair of raw.split('&')) {
    if (pair === '') continue;
    const eq = pair.indexOf('=');
    const k = decode(eq === -1 ? pair : pair.slice(0, eq));
    const v = decode(eq === -1 ? '' : pair.slice(eq + 1));
    if (k === undefined || v === undefined) return undefined;
    const list = out.get(k);
    if (list) list.push(v);
    else out.set(k, [v]);
  }
  return out;
}

function decode(s: string): string | undefined {
  try {
    return decodeURIComponent(s.includes('+') ? s.replace(/\+/g, ' ') : s);
  } catch {
    return undefined;
  }
}

/** A Cookie header's pairs (the first of a repeated name wins, as browsers send the most specific first). */
export function parseCookies(header: string | undefined): Map<string, string[]> {
  const out = new Map<string, string[]>();
  if (!header) return out;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq === -1) continue;
    const k = part.slice(0, eq).trim();
    if (!out.has(k)) out.set(k, [part.slice(eq + 1).trim()]);
  }
  return out;
}

const NUMBER = /^-?(0|[1-9]\d*)(\.\d+)?([eE][+-]?\d+)?$/;

/** A text value read as its shape says: numbers and booleans only when written plainly (`0x10`, ` 5` stay text). */
function scalar(text: string, shape: Shape): unknown {
  switch (shape.type) {
    case 'integer':
    case 'number':
      return NUMBER.test(text) ? Number(text) : text;
    case 'boolean':
      return text === 'true' ? true : text === 'false' ? false : text;
    default:
      return text;
  }
}

const SEPARATOR: Record<string, string> = {
  form: ',',
  spaceDelimited: ' ',
  pipeDelimited: '|',
  simple: ',',
  label: '.',
};

/**
 * A parameter's value from its raw texts (all the values its name was given), read by its style:
 * undefined when absent. A value that cannot be read adds a problem and is left out.
 */
export function readParameter(
  p: ParameterReader,
  texts: readonly string[] | undefined,
  all: ReadonlyMap<string, string[]> | undefined,
  problems: Problem[],
): unknown {
  const shape = p.shape;
  if (p.json) {
    if (texts === undefined) return undefined;
    const text = texts[0]!;
    if (nestedTooDeep(text)) {
      problems.push({
        location: `${p.in}.${p.name}`,
        message: `is nested deeper than ${MAX_JSON_DEPTH} levels`,
      });
      return undefined;
    }
    try {
      return JSON.parse(text);
    } catch {
      problems.push({ location: `${p.in}.${p.name}`, message: 'is not valid JSON' });
      return undefined;
    }
  }
  if (shape.type === 'object' && p.in === 'query' && (p.style === 'deepObject' || p.explode)) {
    return readExplodedObject(p, shape, all);
  }
  if (texts === undefined) return undefined;
  if (shape.type === 'array') {
    const items =
      p.explode && p.in !== 'header' && p.in !== 'path'
        ? texts
        : texts.flatMap((t) => split(unlabel(t, p), SEPARATOR[p.style] ?? ','));
    return items.map((t) => scalar(t, shape.items));
  }
  if (texts.length > 1) {
    problems.push({ location: `${p.in}.${p.name}`, message: 'should be given once' });
    return undefined;
  }
  const text = unlabel(texts[0]!, p);
  if (shape.type === 'object') return readObject(text, shape, p);
  return scalar(text, shape);
}

function unlabel(text: string, p: ParameterReader): string {
  return p.style === 'label' && text.startsWith('.') ? text.slice(1) : text;
}

function split(text: string, separator: string): string[] {
  return text === '' ? [] : text.split(separator);
}

/** `R,100,G,200` (or `R=100,G=200` when exploded) as `{ R: 100, G: 200 }`. */
function readObject(text: string, shape: { properties: Record<string, Shape> }, p: ParameterReader): unknown {
  const out: Record<string, unknown> = {};
  const parts = split(text, SEPARATOR[p.style] ?? ',');
  const set = (k: string, v: string) => {
    Object.defineProperty(out, k, {
      value: scalar(v, shape.properties[k] ?? { type: 'any' }),
      enumerable: true,
      writable: true,
      configurable: true,
    });
  };
  if (p.explode) {
    for (const part of parts) {
      const eq = part.indexOf('=');
      set(eq === -1 ? part : part.slice(0, eq), eq === -1 ? '' : part.slice(eq + 1));
    }
  } else {
    for (let i = 0; i + 1 < parts.length; i += 2) set(parts[i]!, parts[i + 1]!);
  }
  return out;
}

/** `color[R]=100&color[G]=200` (deepObject) or `R=100&G=200` (form, exploded) as `{ R: 100, G: 200 }`. */
function readExplodedObject(
  p: ParameterReader,
  shape: { properties: Record<string, Shape> },
  all: ReadonlyMap<string, string[]> | undefined,
): unknown {
  if (all === undefined) return undefined;
  const out: Record<string, unknown> = {};
  let found = false;
  const set = (k: string, v: string) => {
    found = true;
    Object.defineProperty(out, k, {
      value: scalar(v, shape.properties[k] ?? { type: 'any' }),
      enumerable: true,
      writable: true,
      configurable: true,
    });
  };
  if (p.style === 'deepObject') {
    const open = `${p.name}[`;
    for (const [k, v] of all) {
      if (k.startsWith(open) && k.endsWith(']') && v.length > 0) set(k.slice(open.length, -1), v[0]!);
    }
  } else {
    for (const k of Object.keys(shape.properties)) {
      const v = all.get(k);
      if (v !== undefined && v.length > 0) set(k, v[0]!);
    }
  }
  return found ? out : undefined;
}

function nestedTooDeep(text: string): boolean {
  let depth = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x7b || c === 0x5b) {
      if (++depth > MAX_JSON_DEPTH) return true;
    } else if (c === 0x7d || c === 0x5d) depth--;
  }
  return false;
}
