import {
  isRouteMiss,
  normalizePath,
  type Route,
  type RouteDescription,
  type Router,
} from '@lucid/gateway-core';
import { isObject, type OpenApiDoc } from './document.js';

type Node = Record<string, unknown>;

/** The gateway's own security scheme: every protected route takes a bearer JWT. */
export const BEARER_SCHEME = 'gatewayBearer';

const METHODS = ['get', 'put', 'post', 'delete', 'options', 'head', 'patch'] as const;
// Fields of a path item that are not operations; `servers` is left out: it would name the upstream.
const PATH_ITEM_FIELDS = ['summary', 'description', 'parameters'] as const;

/**
 * One service's document as clients see it through the gateway: each operation under the path a
 * client calls (the route's prefix, stripped or not), kept only where the gateway's router really
 * sends that method and path to this route; security from the route's rules; the service name as the
 * only tag; no `servers`, upstream security schemes or webhooks (they describe the upstream, not us).
 *
 * @example
 * toGatewayPaths(authDoc, 'auth', routesOfAuth, router).paths // { '/auth/login': { post: ... } }
 */
export function toGatewayPaths(
  doc: OpenApiDoc,
  service: string,
  routes: readonly Route[],
  router: Router,
  describe: (route: Route) => readonly RouteDescription[] = () => [],
): { doc: OpenApiDoc; operations: number } {
  const paths: Record<string, Node> = {};
  const upstreamPaths = isObject(doc.paths) ? doc.paths : {};
  const usedIds = new Set<string>();
  let operations = 0;
  for (const upstreamPath of Object.keys(upstreamPaths)) {
    const item = pathItem(doc, upstreamPaths[upstreamPath]);
    const sample = samplePath(upstreamPath);
    if (!item || sample === undefined) continue;
    for (const route of routes) {
      const gwPath = gatewayPath(upstreamPath, route);
      if (gwPath === undefined) continue;
      const gwSample = samplePath(gwPath);
      if (gwSample === undefined) continue;
      for (const method of METHODS) {
        const op = item[method];
        if (!isObject(op)) continue;
        if (paths[gwPath]?.[method] !== undefined) continue; // an earlier route already has it
        const match = router.match(method.toUpperCase(), hostOf(route), gwSample);
        // The router is the judge: the operation stays only if this very route gets the request,
        // and forwards it to the path the document describes.
        if (isRouteMiss(match) || match.route !== route || match.upstreamPath !== sample) continue;
        let out = paths[gwPath];
        if (!out) {
          out = pathLevel(item, route);
          paths[gwPath] = out;
        }
        out[method] = operation(op, service, route, usedIds, describe(route));
        operations++;
      }
    }
  }
  const components = isObject(doc.components) ? { ...doc.components } : undefined;
  if (components) delete components.securitySchemes;
  const { servers: _s, security: _sec, tags: _t, webhooks: _w, paths: _p, components: _c, ...rest } = doc;
  return {
    doc: { ...rest, paths, ...(components && Object.keys(components).length > 0 && { components }) },
    operations,
  };
}

/** A path item, or the local `#/components/pathItems/X` it refers to. */
function pathItem(doc: OpenApiDoc, value: unknown): Node | undefined {
  if (!isObject(value)) return undefined;
  const ref = value.$ref;
  if (typeof ref !== 'string') return value;
  const name = /^#\/components\/pathItems\/([^/]+)$/.exec(ref)?.[1];
  const items =
    isObject(doc.components) && isObject(doc.components.pathItems) ? doc.components.pathItems : {};
  const target = name !== undefined && Object.hasOwn(items, name) ? items[name] : undefined;
  return isObject(target) && target.$ref === undefined ? target : undefined;
}

/** The path a client calls for `upstreamPath` on `route`, or undefined when the route cannot reach it. */
export function gatewayPath(upstreamPath: string, route: Route): string | undefined {
  const prefix = route.config.prefix.replace(/\/+$/, '');
  const prefixSegments = prefix.split('/').slice(1);
  if (route.config.stripPrefix) {
    const joined = `${prefix}${upstreamPath === '/' ? '' : upstreamPath}` || '/';
    return joined.replace(/\/:([^/]+)/g, '/{$1}');
  }
  // Not stripped: the upstream sees the prefix, so only its paths under the prefix are reachable.
  const segments = upstreamPath.split('/').slice(1);
  if (prefix === '') return upstreamPath;
  if (segments.length < prefixSegments.length) return undefined;
  for (let i = 0; i < prefixSegments.length; i++) {
    const want = prefixSegments[i]!;
    if (!want.startsWith(':') && want !== segments[i]) return undefined;
  }
  return upstreamPath;
}

/** A concrete path for a template (`{id}` becomes `x`), if it is one the normalizer leaves as is. */
function samplePath(template: string): string | undefined {
  if (!template.startsWith('/')) return undefined;
  const sample = template.replace(/\{[^}/]+\}/g, 'x');
  try {
    return normalizePath(sample).path === sample ? sample : undefined;
  } catch {
    return undefined;
  }
}

function hostOf(route: Route): string | undefined {
  const host = route.config.host;
  if (!host || host === '*') return undefined;
  return host.startsWith('*.') ? `x${host.slice(1)}` : host;
}

function pathLevel(item: Node, route: Route): Node {
  const out: Node = {};
  for (const field of PATH_ITEM_FIELDS) if (item[field] !== undefined) out[field] = item[field];
  // A `:name` segment of a stripped prefix is a path parameter the upstream's document never knew.
  if (route.config.stripPrefix) {
    const params = Array.isArray(out.parameters) ? [...out.parameters] : [];
    for (const [, name] of route.config.prefix.matchAll(/\/:([^/]+)/g)) {
      const known = params.some((p) => isObject(p) && p.in === 'path' && p.name === name);
      if (!known) params.push({ name, in: 'path', required: true, schema: { type: 'string' } });
    }
    if (params.length > 0) out.parameters = params;
  }
  return out;
}

function operation(
  op: Node,
  service: string,
  route: Route,
  usedIds: Set<string>,
  described: readonly RouteDescription[],
): Node {
  const { servers: _servers, security: _security, tags: _tags, ...rest } = op;
  const out: Node = { ...rest, tags: [service] };
  if (typeof rest.operationId === 'string') {
    let id = rest.operationId;
    for (let n = 2; usedIds.has(id); n++) id = `${rest.operationId}_${n}`;
    usedIds.add(id);
    out.operationId = id;
  }
  const { auth, scopes } = route.config;
  if (auth === 'public') {
    out.security = [];
    return out;
  }
  // OpenAPI 3.1 lets a non-OAuth requirement list the roles it needs: here, the route's scopes.
  out.security = [{ [BEARER_SCHEME]: [...scopes] }];
  // Each plugin says what its own options on the route mean (an authenticating one: the claims it requires).
  for (const d of described) Object.assign(out, d.extensions);
  const responses = isObject(rest.responses) ? { ...rest.responses } : {};
  responses['401'] ??= { description: 'No valid bearer token (answered by the gateway)' };
  if (scopes.length > 0 || described.some((d) => d.mayForbid))
    responses['403'] ??= {
      description: 'The token lacks a required scope or claim (answered by the gateway)',
    };
  out.responses = responses;
  return out;
}
