import { HOST_PATTERN_HINT, parseHostPattern } from '../http/host-pattern.js';
import { normalizePath } from '../http/normalize-path.js';
import type { Route, RouteMatch } from '../types.js';

/** Why no route answers: no route has the path (404), or none of those that do allows the method (405). */
export type RouteMiss = { miss: 404 } | { miss: 405; allow: string[] };

const NOT_FOUND: RouteMiss = Object.freeze({ miss: 404 });

/** One route as the matcher needs it, worked out once. */
interface Entry {
  route: Route;
  /** Position in the priority order (lower wins). */
  rank: number;
  /** The prefix's segments, as normalized. */
  segments: string[];
  /** Number of prefix segments. */
  depth: number;
  /** Per prefix segment: true when static, false when a `:param`. */
  pattern: boolean[];
  /** `:param` names by segment position. */
  params: Array<[position: number, name: string]>;
  /** undefined: every method. */
  methods: Set<string> | undefined;
  /** 0 any host, 1 an exact host, 2 a `*.` wildcard (then `host` holds the suffix, dot included). */
  hostKind: 0 | 1 | 2;
  host: string;
  exact: boolean;
  strip: boolean;
}

interface StaticChild {
  segment: string;
  node: Node;
}

interface Node {
  /** Static children by a hash of their segment, so a lookup needs no substring of the path. */
  statics: Map<number, StaticChild[]>;
  param: Node | undefined;
  /** Routes whose prefix ends here, best first. */
  entries: Entry[];
}

/**
 * Finds the route for a request by method, host and normalized path, from a segment trie built once.
 *
 * - Prefixes match on segment boundaries (`/admin` matches `/admin` and `/admin/x`, never
 *   `/administrator`); `/` matches every path; an `exact` route matches its prefix only.
 * - `:name` segments match one non-empty segment, captured (still percent-encoded) in `params`.
 * - The longest prefix wins; at equal length a static segment beats a parameter (earliest
 *   position first), then a route with an exact host beats a `*.` wildcard host beats no host,
 *   then an exact route, then config order.
 * - Hosts are host patterns (http/host-pattern.ts): `*.example.com` matches one label.
 * - Methods: none listed means all; GET brings HEAD. When the best routes for the path do not
 *   allow the method, shorter matching prefixes that do are used; if none does, a 405 miss
 *   lists what the matching routes allow.
 *
 * `match` throws nothing and allocates only its result.
 *
 * @example
 * const router = new Router(routes);
 * const m = router.match('GET', req.headers.host, '/auth/login');
 * if ('miss' in m) throw new GatewayError(m.miss === 404 ? 'GW_ROUTE_NOT_FOUND' : 'GW_METHOD_NOT_ALLOWED');
 * m.upstreamPath; // '/login' when the /auth route strips its prefix
 */
export class Router {
  readonly #root: Node = newNode();

  constructor(routes: readonly Route[]) {
    const entries = routes.map(compile);
    entries
      .map((e, index) => ({ e, index }))
      .sort((a, b) => compareEntries(a.e, b.e) || a.index - b.index)
      .forEach(({ e }, rank) => {
        e.rank = rank;
      });
    for (const entry of entries) insert(this.#root, entry);
    sortEntries(this.#root);
  }

  match(method: string, host: string | undefined, path: string): RouteMatch | RouteMiss {
    // The host is read in place (its name ends at `nameEnd`), so matching needs no copy of it.
    const name = host ?? '';
    const nameEnd = host === undefined ? -1 : hostNameEnd(host);
    const found = find(this.#root, path, 0, method, name, nameEnd);
    if (found !== undefined) return toMatch(found, path);
    const allow = new Set<string>();
    if (!collect(this.#root, path, 0, name, nameEnd, allow)) return NOT_FOUND;
    return { miss: 405, allow: [...allow].sort() };
  }
}

/** Is `m` a miss rather than a match? */
export function isRouteMiss(m: RouteMatch | RouteMiss): m is RouteMiss {
  return 'miss' in m;
}

function newNode(): Node {
  return { statics: new Map(), param: undefined, entries: [] };
}

function compile(route: Route): Entry {
  const { config } = route;
  // The prefix goes through the same normalizer as request paths, so both are spelled alike.
  let prefix: string;
  try {
    prefix = normalizePath(config.prefix).path;
  } catch {
    throw new Error(`route "${route.id}": prefix "${config.prefix}" is not a plain path like "/auth"`);
  }
  const segments = prefix.split('/').filter((s) => s !== '');
  const pattern: boolean[] = [];
  const params: Array<[number, string]> = [];
  segments.forEach((s, i) => {
    const isParam = s.startsWith(':');
    if (isParam && s.length === 1)
      throw new Error(`route "${route.id}": a ":" segment needs a name, like ":id"`);
    if (isParam) params.push([i, s.slice(1)]);
    pattern.push(!isParam);
  });
  let methods: Set<string> | undefined;
  if (config.methods !== undefined) {
    methods = new Set(config.methods);
    if (methods.has('GET')) methods.add('HEAD');
  }
  const [hostKind, host] = compileHost(route);
  return {
    route,
    rank: 0,
    segments,
    depth: segments.length,
    pattern,
    params,
    methods,
    hostKind,
    host,
    exact: route.exact,
    strip: config.stripPrefix,
  };
}

function compileHost(route: Route): [0 | 1 | 2, string] {
  const raw = route.config.host;
  const pattern = parseHostPattern(raw ?? '');
  if (pattern === undefined) throw new Error(`route "${route.id}": host "${raw}": ${HOST_PATTERN_HINT}`);
  if (pattern.kind === 'any') return [0, ''];
  return pattern.kind === 'exact' ? [1, pattern.name] : [2, pattern.suffix];
}

/** Better first: more segments, then static before param (earliest position first), then host, then exact. */
function compareEntries(a: Entry, b: Entry): number {
  if (a.depth !== b.depth) return b.depth - a.depth;
  for (let i = 0; i < a.depth; i++) {
    if (a.pattern[i] !== b.pattern[i]) return a.pattern[i] ? -1 : 1;
  }
  const hostRank = (e: Entry) => (e.hostKind === 1 ? 2 : e.hostKind === 2 ? 1 : 0);
  if (a.hostKind !== b.hostKind) return hostRank(b) - hostRank(a);
  return Number(b.exact) - Number(a.exact);
}

function insert(root: Node, entry: Entry): void {
  let node = root;
  for (const segment of entry.segments) {
    if (segment.startsWith(':')) {
      node.param ??= newNode();
      node = node.param;
      continue;
    }
    const hash = hashSegment(segment, 0, segment.length);
    let bucket = node.statics.get(hash);
    if (bucket === undefined) {
      bucket = [];
      node.statics.set(hash, bucket);
    }
    let child = bucket.find((c) => c.segment === segment);
    if (child === undefined) {
      child = { segment, node: newNode() };
      bucket.push(child);
    }
    node = child.node;
  }
  node.entries.push(entry);
}

function sortEntries(node: Node): void {
  node.entries.sort((a, b) => a.rank - b.rank);
  for (const bucket of node.statics.values()) for (const child of bucket) sortEntries(child.node);
  if (node.param !== undefined) sortEntries(node.param);
}

function hashSegment(s: string, start: number, end: number): number {
  let h = 0x811c9dc5;
  for (let i = start; i < end; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193);
  return h | 0;
}

/** Where the name in a Host header ends: before the port and a trailing dot. */
function hostNameEnd(host: string): number {
  let end: number;
  if (host.charCodeAt(0) === 0x5b /* [ */) {
    const close = host.indexOf(']');
    end = close === -1 ? host.length : close + 1;
  } else {
    const colon = host.indexOf(':');
    end = colon === -1 ? host.length : colon;
  }
  if (end > 0 && host.charCodeAt(end - 1) === 0x2e) end--;
  return end;
}

/** `hostMatches` of http/host-pattern.ts, read in place on the raw header (no copy per request). */
function hostMatches(entry: Entry, host: string, nameEnd: number): boolean {
  if (entry.hostKind === 0) return true;
  if (nameEnd < 0) return false;
  const want = entry.host;
  if (entry.hostKind === 1) return nameEnd === want.length && sameLowercase(host, 0, want);
  // Wildcard: one non-empty label, then the suffix (which starts with its dot).
  const labelEnd = nameEnd - want.length;
  return labelEnd > 0 && sameLowercase(host, labelEnd, want) && host.indexOf('.') === labelEnd;
}

/** Does `s` hold `lower` (already lower-case) at `at`, ignoring ASCII case? */
function sameLowercase(s: string, at: number, lower: string): boolean {
  for (let i = 0; i < lower.length; i++) {
    let c = s.charCodeAt(at + i);
    if (c >= 0x41 && c <= 0x5a) c |= 0x20;
    if (c !== lower.charCodeAt(i)) return false;
  }
  return true;
}

/** Does an entry ending at `end` (the consumed part of the path) take this path? */
function reaches(entry: Entry, path: string, end: number): boolean {
  // An exact route takes its prefix alone; the root also as the bare "/".
  return !entry.exact || end === path.length || (end === 0 && path.length === 1);
}

/**
 * The best entry for method and host in the subtree at `node`, where the path has been consumed
 * up to `end`. Deeper entries always rank better, so children are searched before this node.
 */
function find(
  node: Node,
  path: string,
  end: number,
  method: string,
  host: string,
  nameEnd: number,
): Entry | undefined {
  let best: Entry | undefined;
  const start = end + 1;
  if (start < path.length) {
    let segEnd = path.indexOf('/', start);
    if (segEnd === -1) segEnd = path.length;
    if (segEnd > start) {
      const child = staticChild(node, path, start, segEnd);
      if (child !== undefined) best = find(child, path, segEnd, method, host, nameEnd);
      if (node.param !== undefined) {
        const viaParam = find(node.param, path, segEnd, method, host, nameEnd);
        if (viaParam !== undefined && (best === undefined || viaParam.rank < best.rank)) best = viaParam;
      }
      if (best !== undefined) return best;
    }
  }
  const entries = node.entries;
  for (let i = 0; i < entries.length; i++) {
    const entry = entries[i]!;
    if (
      reaches(entry, path, end) &&
      hostMatches(entry, host, nameEnd) &&
      (entry.methods?.has(method) ?? true)
    ) {
      return entry;
    }
  }
  return undefined;
}

/** The miss path: adds the methods of every entry that takes path and host; false when there is none. */
function collect(
  node: Node,
  path: string,
  end: number,
  host: string,
  nameEnd: number,
  allow: Set<string>,
): boolean {
  let any = false;
  for (const entry of node.entries) {
    if (!reaches(entry, path, end) || !hostMatches(entry, host, nameEnd)) continue;
    any = true;
    for (const m of entry.methods ?? []) allow.add(m);
  }
  const start = end + 1;
  if (start >= path.length) return any;
  let segEnd = path.indexOf('/', start);
  if (segEnd === -1) segEnd = path.length;
  if (segEnd === start) return any;
  const child = staticChild(node, path, start, segEnd);
  if (child !== undefined && collect(child, path, segEnd, host, nameEnd, allow)) any = true;
  if (node.param !== undefined && collect(node.param, path, segEnd, host, nameEnd, allow)) any = true;
  return any;
}

function staticChild(node: Node, path: string, start: number, end: number): Node | undefined {
  if (node.statics.size === 0) return undefined;
  const bucket = node.statics.get(hashSegment(path, start, end));
  if (bucket === undefined) return undefined;
  for (let i = 0; i < bucket.length; i++) {
    const child = bucket[i]!;
    if (child.segment.length === end - start && path.startsWith(child.segment, start)) return child.node;
  }
  return undefined;
}

function toMatch(entry: Entry, path: string): RouteMatch {
  const params: Record<string, string> = {};
  // Walk the matched segments once: capture params, and find where the prefix ends.
  let end = 0;
  let p = 0;
  for (let i = 0; i < entry.depth; i++) {
    const start = end + 1;
    end = path.indexOf('/', start);
    if (end === -1) end = path.length;
    const slot = entry.params[p];
    if (slot !== undefined && slot[0] === i) {
      params[slot[1]] = path.slice(start, end);
      p++;
    }
  }
  const upstreamPath = !entry.strip || end === 0 ? path : end >= path.length ? '/' : path.slice(end);
  return { route: entry.route, params, upstreamPath };
}
