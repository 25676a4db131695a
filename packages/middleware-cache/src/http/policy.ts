import { createHash } from 'node:crypto';
import type { OutgoingHttpHeaders } from 'node:http';
import type { GatewayContext } from '@lucid/gateway-core';
import type CachePolicy from 'http-cache-semantics';
import type { RouteCacheOptions } from '../config/schema.js';
import { hostOf } from './key.js';

export const POLICY_OPTIONS = { shared: true, cacheHeuristic: 0.1, immutableMinTimeToLive: 24 * 3600 * 1000 };

/** RFC 9110 §15.1: statuses a cache may store on heuristic freshness; a route's `ttl` applies to these only. */
const HEURISTIC_STATUS = new Set([200, 203, 204, 300, 301, 308, 404, 405, 410, 414, 501]);

/** Headers the gateway sets per request or per hop: never stored, set afresh on each answer. */
const NOT_STORED = new Set([
  'x-request-id',
  'cache-status',
  'connection',
  'keep-alive',
  'transfer-encoding',
  'set-cookie',
]);

export type Directives = Map<string, string | true>;

export function directives(value: unknown): Directives {
  const out: Directives = new Map();
  if (value === undefined || value === null) return out;
  for (const part of String(Array.isArray(value) ? value.join(',') : value).split(',')) {
    const eq = part.indexOf('=');
    const name = (eq === -1 ? part : part.slice(0, eq)).trim().toLowerCase();
    if (name === '') continue;
    out.set(
      name,
      eq === -1
        ? true
        : part
            .slice(eq + 1)
            .trim()
            .replace(/^"|"$/g, ''),
    );
  }
  return out;
}

/**
 * The request as the policy sees it: the headers the upstream saw (what the gateway added wins),
 * without the client's Cache-Control and Pragma (a client cannot make the cache refetch: a way to
 * make the upstream do the work the cache is there to spare it), and Authorization standing for
 * any credential when the request carried one (RFC 9111 §3.5).
 */
export function requestView(
  ctx: GatewayContext,
  url: string | undefined,
  credentialed: boolean,
): CachePolicy.Request {
  const headers: Record<string, string> = {};
  const incoming = ctx.req.headers;
  for (const name in incoming) {
    if (NOT_VIEWED.has(name) || name.charCodeAt(0) === 58 /* : */) continue;
    const v = incoming[name];
    if (v !== undefined) headers[name] = Array.isArray(v) ? v.join(', ') : v;
  }
  const added = ctx.upstreamHeaders;
  for (const name in added) {
    const v = added[name];
    if (v !== undefined) headers[name] = Array.isArray(v) ? v.join(', ') : String(v);
  }
  headers.host = hostOf(ctx);
  // Credentials only as digests: a policy keeps the request headers its answer varies on, and a
  // store must never hold a token or a session cookie.
  for (const name of SECRET) if (headers[name] !== undefined) headers[name] = digest(headers[name]);
  if (credentialed) headers.authorization ??= 'credentials';
  else delete headers.authorization;
  return { url, method: 'GET', headers };
}

/** The client's cache directives and validators: the cache answers them itself; its own go upstream. */
const NOT_VIEWED = new Set([
  'cache-control',
  'pragma',
  'if-none-match',
  'if-modified-since',
  'if-match',
  'if-unmodified-since',
  'if-range',
]);

const SECRET = ['authorization', 'cookie', 'proxy-authorization', 'x-api-key'];
const digest = (v: string) => createHash('sha256').update(v).digest('base64url');

/** The request view a stored policy keeps: only what its answer varies on (and the host). */
export function keptView(view: CachePolicy.Request, vary: readonly string[]): CachePolicy.Request {
  const headers: Record<string, string> = { host: view.headers.host as string };
  if (view.headers.authorization !== undefined)
    headers.authorization = vary.includes('authorization')
      ? (view.headers.authorization as string)
      : 'credentials';
  for (const name of vary) {
    const v = view.headers[name];
    if (v !== undefined) headers[name] = v as string;
  }
  return { ...(view.url !== undefined && { url: view.url }), method: 'GET', headers };
}

/** The upstream's headers as stored: without what the gateway adds per request (Vary is kept: it keys). */
export function storedHeaders(
  headers: OutgoingHttpHeaders,
  perRequest: OutgoingHttpHeaders,
): Record<string, string> {
  const out: Record<string, string> = {};
  for (const name in headers) {
    const v = headers[name];
    if (v === undefined || NOT_STORED.has(name)) continue;
    if (name !== 'vary' && perRequest[name] !== undefined) continue;
    out[name] = Array.isArray(v) ? v.join(', ') : String(v);
  }
  return out;
}

/**
 * The Cache-Control the policy is given: the upstream's, plus the route's `ttl` as `s-maxage` when
 * the upstream gave no freshness of its own, and the route's RFC 5861 windows when it gave none.
 * Never more: `no-store`, `private`, `no-cache` and `must-revalidate` keep their meaning.
 */
export function withRouteDefaults(
  status: number,
  headers: Record<string, string>,
  cc: Directives,
  opts: RouteCacheOptions,
): Record<string, string> {
  const extra: string[] = [];
  const explicit = cc.has('max-age') || cc.has('s-maxage') || headers.expires !== undefined;
  if (opts.ttl !== undefined && !explicit && HEURISTIC_STATUS.has(status))
    extra.push(`s-maxage=${Math.floor(opts.ttl / 1000)}`);
  const strict = cc.has('must-revalidate') || cc.has('proxy-revalidate') || cc.has('no-cache');
  if (opts.staleWhileRevalidate !== undefined && !strict && !cc.has('stale-while-revalidate'))
    extra.push(`stale-while-revalidate=${Math.floor(opts.staleWhileRevalidate / 1000)}`);
  if (opts.staleIfError !== undefined && !strict && !cc.has('stale-if-error'))
    extra.push(`stale-if-error=${Math.floor(opts.staleIfError / 1000)}`);
  if (extra.length === 0) return headers;
  const own = headers['cache-control'];
  return { ...headers, 'cache-control': own ? `${own}, ${extra.join(', ')}` : extra.join(', ') };
}

/** RFC 9111 §4.2.4: a stale answer may stand in for an error only when the upstream allowed it. */
export function staleIfErrorAllowed(policy: CachePolicy, cc: Directives): boolean {
  if (cc.has('must-revalidate') || cc.has('proxy-revalidate') || cc.has('no-cache')) return false;
  const sie = Number(directives(policy.toObject().resh['cache-control']).get('stale-if-error'));
  return Number.isFinite(sie) && sie > 0 && policy.maxAge() + sie > policy.age();
}
