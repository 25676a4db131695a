import type { IncomingHttpHeaders } from 'node:http';
import { Ajv, type ValidateFunction } from 'ajv';
import { Ajv2020 } from 'ajv/dist/2020.js';
import addFormatsModule from 'ajv-formats';
import {
  DOCUMENT_ID,
  deref,
  isObject,
  normalize,
  type OpenApiVersion,
  pointerSegment,
  ValidationDocumentError,
  versionOf,
} from './document.js';
import { parseJsonBody } from './json-body.js';
import { essence, isJson, MediaTypes } from './media-type.js';
import {
  type ParameterIn,
  type ParameterReader,
  parameterReader,
  parseCookies,
  parseQuery,
  readParameter,
} from './parameters.js';
import { byConcreteness, PathTemplate } from './path-template.js';
import { MAX_PROBLEMS, type Problem, toProblems } from './problems.js';
import { linearRegExp } from './regexp.js';
import { linearUniqueItems } from './unique-items.js';

// ajv-formats is CommonJS with a default export; its type and its value differ under NodeNext.
const addFormats = addFormatsModule as unknown as (ajv: Ajv) => Ajv;

const METHODS = ['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace'] as const;
const LOCATIONS: readonly ParameterIn[] = ['path', 'query', 'header', 'cookie'];

export interface ValidatorOptions {
  /** Compile the responses' schemas too (for `responses: report`). */
  responses?: boolean;
}

/** What a request carries, as the gateway sends it upstream (the path without its query). */
export interface RequestParts {
  path: string;
  /** The raw query, without `?`. */
  query: string;
  headers: IncomingHttpHeaders;
  /** The whole body; undefined or empty when there is none. */
  body: Buffer | undefined;
}

export type Verdict = { ok: true } | { ok: false; status: 400 | 415; problems: Problem[] };

/** Where a request lands in the document. */
export type Found =
  | { kind: 'operation'; operation: Operation; params: Record<string, string> }
  /** The operation exists but could not be compiled (its reason says why). */
  | { kind: 'unchecked'; id: string; reason: string }
  | { kind: 'method-not-allowed'; allow: string[] }
  | { kind: 'not-found' };

interface BodySpec {
  required: boolean;
  /** The declared media types. */
  types: MediaTypes;
  /** Per declared JSON media type with a schema: its compiled check. */
  schemas: Map<string, ValidateFunction>;
}

interface ResponseSpec {
  types: MediaTypes;
  schemas: Map<string, ValidateFunction>;
}

/** One operation of the document, compiled once. */
export class Operation {
  constructor(
    /** `POST /pets/{id}` */
    readonly id: string,
    readonly readers: Readonly<Record<ParameterIn, readonly ParameterReader[]>>,
    readonly checks: Readonly<Record<ParameterIn, ValidateFunction | undefined>>,
    readonly body: BodySpec | undefined,
    readonly responses: ReadonlyMap<string, ResponseSpec> | undefined,
  ) {}

  /** Checks one request against this operation: `params` are the path's raw values from `find`. */
  check(parts: RequestParts, params: Record<string, string>): Verdict {
    const problems: Problem[] = [];
    let status: 400 | 415 = 400;
    if (this.checks.path) this.#checkPath(params, problems);
    if (this.checks.query) this.#checkQuery(parts.query, problems);
    if (this.checks.header) this.#checkHeaders(parts.headers, problems);
    if (this.checks.cookie) this.#checkCookies(parts.headers.cookie, problems);
    const body = parts.body;
    if (this.body !== undefined) {
      if (body === undefined || body.length === 0) {
        if (this.body.required) problems.push({ location: '/body', message: 'is required' });
      } else {
        const type = essence(parts.headers['content-type']);
        const declared = type === undefined ? undefined : this.body.types.pick(type);
        if (declared === undefined) {
          status = 415;
          problems.push({
            location: 'header.content-type',
            message: `should be one of ${this.body.types.declared.map((t) => JSON.stringify(t)).join(', ')}`,
          });
        } else if (isJson(type!)) {
          checkJson(body, this.body.schemas.get(declared), '/body', problems);
        }
      }
    }
    return problems.length === 0 ? OK : { ok: false, status, problems: problems.slice(0, MAX_PROBLEMS) };
  }

  /** Checks an upstream's answer; an empty list when it matches what the document declares. */
  checkResponse(status: number, contentType: string | undefined, body: Buffer | undefined): Problem[] {
    const responses = this.responses;
    if (responses === undefined || responses.size === 0) return [];
    const spec =
      responses.get(String(status)) ?? responses.get(`${String(status)[0]}XX`) ?? responses.get('default');
    if (spec === undefined) return [{ location: 'status', message: `${status} is not a declared answer` }];
    const problems: Problem[] = [];
    if (spec.types.declared.length === 0 || body === undefined || body.length === 0) return problems;
    const type = essence(contentType);
    const declared = type === undefined ? undefined : spec.types.pick(type);
    if (declared === undefined) {
      problems.push({
        location: 'header.content-type',
        message: `${JSON.stringify(type ?? '')} is not declared`,
      });
    } else if (isJson(type!)) {
      checkJson(body, spec.schemas.get(declared), '/body', problems);
    }
    return problems;
  }

  #checkPath(raw: Record<string, string>, problems: Problem[]): void {
    const values: Record<string, unknown> = {};
    const before = problems.length;
    for (const p of this.readers.path) {
      const text = raw[p.name];
      if (text === undefined) continue;
      let decoded: string;
      try {
        decoded = decodeURIComponent(text);
      } catch {
        problems.push({ location: `path.${p.name}`, message: 'is not valid percent-encoding' });
        continue;
      }
      define(values, p.key, readParameter(p, [decoded], undefined, problems));
    }
    validateInto(this.checks.path!, values, 'path', problems, before);
  }

  #checkQuery(raw: string, problems: Problem[]): void {
    const all = parseQuery(raw);
    if (all === undefined) {
      problems.push({ location: 'query', message: 'is not valid percent-encoding' });
      return;
    }
    const values: Record<string, unknown> = {};
    const before = problems.length;
    for (const p of this.readers.query)
      define(values, p.key, readParameter(p, all.get(p.name), all, problems));
    validateInto(this.checks.query!, values, 'query', problems, before);
  }

  #checkHeaders(headers: IncomingHttpHeaders, problems: Problem[]): void {
    const values: Record<string, unknown> = {};
    const before = problems.length;
    for (const p of this.readers.header) {
      const v = headers[p.key];
      const texts = v === undefined ? undefined : Array.isArray(v) ? v : [v];
      define(
        values,
        p.key,
        readParameter(
          p,
          texts?.map((t) => t.trim()),
          undefined,
          problems,
        ),
      );
    }
    validateInto(this.checks.header!, values, 'header', problems, before);
  }

  #checkCookies(header: string | undefined, problems: Problem[]): void {
    const all = parseCookies(header);
    const values: Record<string, unknown> = {};
    const before = problems.length;
    for (const p of this.readers.cookie)
      define(values, p.key, readParameter(p, all.get(p.name), undefined, problems));
    validateInto(this.checks.cookie!, values, 'cookie', problems, before);
  }
}

const OK: Verdict = Object.freeze({ ok: true });

function define(into: Record<string, unknown>, key: string, value: unknown): void {
  if (value === undefined) return;
  Object.defineProperty(into, key, { value, enumerable: true, writable: true, configurable: true });
}

/**
 * Validates the values read for one location. A parameter that could not even be read already has
 * its problem: what the schema says of its absence is not added to it.
 */
function validateInto(
  check: ValidateFunction,
  values: unknown,
  where: ParameterIn,
  problems: Problem[],
  unreadable: number,
): void {
  if (check(values)) return;
  const known = new Set(problems.slice(unreadable).map((p) => p.location));
  const found: Problem[] = [];
  toProblems(check.errors ?? [], { kind: 'parameters', in: where }, found);
  for (const p of found) if (!known.has(p.location)) problems.push(p);
}

function checkJson(
  body: Buffer,
  check: ValidateFunction | undefined,
  root: string,
  problems: Problem[],
): void {
  const parsed = parseJsonBody(body);
  if (!parsed.ok) {
    problems.push(parsed.problem);
    return;
  }
  if (check !== undefined && !check(parsed.value))
    toProblems(check.errors ?? [], { kind: 'body', root }, problems);
}

/**
 * A service's OpenAPI document (3.0 or 3.1), compiled once into a check per operation: path
 * templates, parameters by location and style, request bodies by media type (and, when asked, the
 * answers). Each operation compiles on its own: one that cannot be (a pattern RE2 cannot run, a
 * broken `$ref`) is listed in `unchecked` with the reason, and the others still check.
 *
 * @example
 * const validator = OpenApiValidator.compile(document);
 * const found = validator.find('POST', '/pets');
 * if (found.kind === 'operation') found.operation.check({ path, query, headers, body }, found.params);
 */
export class OpenApiValidator {
  readonly #byLength = new Map<
    number,
    Array<{ template: PathTemplate; operations: Map<string, Operation | string> }>
  >();
  /** Operations that could not be compiled, by id, with why. */
  readonly unchecked: ReadonlyArray<{ id: string; reason: string }>;
  readonly operations: number;

  private constructor(
    readonly version: OpenApiVersion,
    /** Path prefixes of the document's `servers` (`/v1`), stripped before matching; `''` when none. */
    readonly basePaths: readonly string[],
    templates: Array<{ template: PathTemplate; operations: Map<string, Operation | string> }>,
    unchecked: Array<{ id: string; reason: string }>,
  ) {
    templates.sort((a, b) => byConcreteness(a.template, b.template));
    let count = 0;
    for (const t of templates) {
      const n = t.template.segments.length;
      const list = this.#byLength.get(n) ?? [];
      list.push(t);
      this.#byLength.set(n, list);
      count += t.operations.size;
    }
    this.operations = count - unchecked.length;
    this.unchecked = unchecked;
  }

  /** Compiles a document; throws a `ValidationDocumentError` when it is not one (no version, no paths). */
  static compile(document: unknown, options: ValidatorOptions = {}): OpenApiValidator {
    if (!isObject(document)) throw new ValidationDocumentError('the document should be an object');
    const version = versionOf(document);
    const doc = normalize(document, version);
    const ajvOptions = {
      strict: false,
      allErrors: true,
      ownProperties: true,
      validateSchema: false,
      addUsedSchema: false,
      logger: false as const,
      code: { regExp: linearRegExp },
    };
    const ajv: Ajv = version === '3.1' ? new Ajv2020(ajvOptions) : new Ajv(ajvOptions);
    addFormats(ajv);
    linearUniqueItems(ajv);
    ajv.addSchema(doc, DOCUMENT_ID);
    const ref = (pointer: string) => ({
      $ref: `${DOCUMENT_ID}#${pointer.split('/').map(encodeURIComponent).join('/')}`,
    });

    const paths = isObject(doc.paths) ? doc.paths : {};
    const templates: Array<{ template: PathTemplate; operations: Map<string, Operation | string> }> = [];
    const unchecked: Array<{ id: string; reason: string }> = [];
    for (const [template, rawItem] of Object.entries(paths)) {
      const compiled = new PathTemplate(template);
      const itemPointer = `/paths/${pointerSegment(template)}`;
      const operations = new Map<string, Operation | string>();
      let item: Record<string, unknown>;
      let shared: unknown[];
      try {
        item = deref(doc, rawItem, itemPointer).value;
        shared = Array.isArray(item.parameters) ? item.parameters : [];
      } catch (err) {
        for (const m of METHODS)
          if (isObject(rawItem) && rawItem[m])
            unchecked.push({ id: `${m.toUpperCase()} ${template}`, reason: reasonOf(err) });
        continue;
      }
      for (const method of METHODS) {
        const op = item[method];
        if (!isObject(op)) continue;
        const id = `${method.toUpperCase()} ${template}`;
        const opPointer = `${itemPointer}/${method}`;
        try {
          operations.set(
            method.toUpperCase(),
            compileOperation(id, doc, ajv, ref, op, opPointer, shared, `${itemPointer}/parameters`, options),
          );
        } catch (err) {
          const reason = reasonOf(err);
          operations.set(method.toUpperCase(), reason);
          unchecked.push({ id, reason });
        }
      }
      templates.push({ template: compiled, operations });
    }
    return new OpenApiValidator(version, basePathsOf(doc), templates, unchecked);
  }

  /** The operation a method and path (as the service sees it, without the query) land on. */
  find(method: string, path: string): Found {
    const upper = method.toUpperCase();
    const allow = new Set<string>();
    for (const base of this.basePaths) {
      let rest = path;
      if (base !== '') {
        if (!path.startsWith(base) || (path.length > base.length && path[base.length] !== '/')) continue;
        rest = path.slice(base.length) || '/';
      }
      const segments = rest.slice(1).split('/');
      const candidates = this.#byLength.get(segments.length);
      if (candidates === undefined) continue;
      for (const { template, operations } of candidates) {
        const params = template.match(segments);
        if (params === undefined) continue;
        // HEAD is answered as GET where the document says nothing of HEAD.
        const op = operations.get(upper) ?? (upper === 'HEAD' ? operations.get('GET') : undefined);
        if (op === undefined) {
          for (const m of operations.keys()) allow.add(m);
          continue;
        }
        if (typeof op === 'string')
          return { kind: 'unchecked', id: `${upper} ${template.template}`, reason: op };
        return { kind: 'operation', operation: op, params };
      }
    }
    return allow.size > 0 ? { kind: 'method-not-allowed', allow: [...allow] } : { kind: 'not-found' };
  }
}

function reasonOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** The path parts of the document's `servers` (variables at their defaults); `['']` when it names none. */
function basePathsOf(doc: Record<string, unknown>): string[] {
  const servers = Array.isArray(doc.servers) ? doc.servers : [];
  const out = new Set<string>();
  for (const s of servers) {
    if (!isObject(s) || typeof s.url !== 'string') continue;
    const vars = isObject(s.variables) ? s.variables : {};
    const url = s.url.replace(/\{([^}]+)\}/g, (_, name: string) => {
      const v = vars[name];
      return isObject(v) && typeof v.default === 'string' ? v.default : '';
    });
    let path: string;
    try {
      path = new URL(url, 'http://service.invalid').pathname;
    } catch {
      continue;
    }
    out.add(path.replace(/\/+$/, ''));
  }
  return out.size === 0 ? [''] : [...out].sort((a, b) => b.length - a.length);
}

function compileOperation(
  id: string,
  doc: Record<string, unknown>,
  ajv: Ajv,
  ref: (pointer: string) => object,
  op: Record<string, unknown>,
  pointer: string,
  shared: unknown[],
  sharedPointer: string,
  options: ValidatorOptions,
): Operation {
  // Operation-level parameters override path-level ones of the same name and location.
  const byKey = new Map<string, ParameterReader>();
  const add = (list: unknown[], at: string) => {
    list.forEach((raw, i) => {
      const { value, pointer: p } = deref(doc, raw, `${at}/${i}`);
      const reader = parameterReader(doc, value, p);
      if (reader) byKey.set(`${reader.in}:${reader.key}`, reader);
    });
  };
  add(shared, sharedPointer);
  add(Array.isArray(op.parameters) ? op.parameters : [], `${pointer}/parameters`);
  const readers: Record<ParameterIn, ParameterReader[]> = { path: [], query: [], header: [], cookie: [] };
  for (const r of byKey.values()) readers[r.in].push(r);
  const checks = {} as Record<ParameterIn, ValidateFunction | undefined>;
  for (const where of LOCATIONS) {
    const list = readers[where];
    if (list.length === 0) {
      checks[where] = undefined;
      continue;
    }
    const properties: Record<string, unknown> = {};
    for (const r of list) {
      Object.defineProperty(properties, r.key, {
        value: r.schemaPointer ? ref(r.schemaPointer) : true,
        enumerable: true,
        writable: true,
        configurable: true,
      });
    }
    const required = list.filter((r) => r.required).map((r) => r.key);
    checks[where] = ajv.compile({ type: 'object', properties, ...(required.length > 0 ? { required } : {}) });
  }

  let body: BodySpec | undefined;
  if (op.requestBody !== undefined) {
    const { value, pointer: at } = deref(doc, op.requestBody, `${pointer}/requestBody`);
    body = { required: value.required === true, ...mediaChecks(ajv, ref, value.content, `${at}/content`) };
  }

  let responses: Map<string, ResponseSpec> | undefined;
  if (options.responses && isObject(op.responses)) {
    responses = new Map();
    for (const [code, raw] of Object.entries(op.responses)) {
      const { value, pointer: at } = deref(doc, raw, `${pointer}/responses/${pointerSegment(code)}`);
      responses.set(code.toUpperCase(), mediaChecks(ajv, ref, value.content, `${at}/content`));
    }
  }
  return new Operation(id, readers, checks, body, responses);
}

function mediaChecks(
  ajv: Ajv,
  ref: (pointer: string) => object,
  content: unknown,
  pointer: string,
): { types: MediaTypes; schemas: Map<string, ValidateFunction> } {
  const types: string[] = [];
  const schemas = new Map<string, ValidateFunction>();
  if (!isObject(content)) return { types: new MediaTypes(types), schemas };
  for (const [type, media] of Object.entries(content)) {
    types.push(type);
    const lower = type.toLowerCase();
    const bare = lower.split(';')[0]!.trim();
    if (
      (isJson(bare) || bare === '*/*' || bare === 'application/*') &&
      isObject(media) &&
      media.schema !== undefined
    ) {
      schemas.set(type, ajv.compile(ref(`${pointer}/${pointerSegment(type)}/schema`)));
    }
  }
  return { types: new MediaTypes(types), schemas };
}
