import { createHash } from 'node:crypto';
import type { GatewayContext } from '@lucid/gateway-core';

/** Longest key part accepted; a longer one (a huge query or header) is served uncached rather than held. */
export const MAX_FIELD = 4_096;

/**
 * The query's `name=value` pairs sorted by name, as sent (never decoded: `%41` and `A` may mean
 * different things to an upstream). The sort is stable, so repeated names keep their order, which
 * upstreams that read the first (or last) of them depend on.
 */
export function sortedQuery(search: string): string {
  if (search.length <= 1) return '';
  const pairs = search.slice(1).split('&');
  if (pairs.length === 1) return pairs[0]!;
  const named = pairs.map((p) => {
    const eq = p.indexOf('=');
    return { name: eq === -1 ? p : p.slice(0, eq), pair: p };
  });
  named.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  return named.map((n) => n.pair).join('&');
}

/** A request header's value as the upstream saw it: what the gateway added wins over the client's copy. */
export function seenHeader(ctx: GatewayContext, name: string): string {
  const own = ctx.upstreamHeaders[name];
  const value = own !== undefined ? own : ctx.req.headers[name];
  if (value === undefined) return '';
  return Array.isArray(value) ? value.join(', ') : String(value);
}

/**
 * The values of `names` as one digest: a key holds no header value itself (an Authorization or a
 * Cookie named in Vary must not be written to a store), and stays short whatever a client sends.
 */
export function headerValues(ctx: GatewayContext, names: readonly string[]): string {
  const hash = createHash('sha256');
  for (let i = 0; i < names.length; i++) hash.update(`${seenHeader(ctx, names[i]!)}\n`);
  return `\nv:${hash.digest('base64url')}`;
}

/**
 * The field part of a key: scheme, host, sorted query, the route's `vary` headers and, per user,
 * the verified `sub`. The path is the other part (it names the group a purge drops). Host and scheme
 * are in it because upstreams build links from them: without them one host's answer could be served
 * to another (cache poisoning through Host).
 */
export function fieldOf(ctx: GatewayContext, vary: readonly string[], sub: string | undefined): string {
  const host = hostOf(ctx);
  let field = `${ctx.protocol}\n${host}\n${sortedQuery(ctx.search)}`;
  if (sub !== undefined) field += `\nu:${sub}`;
  if (vary.length > 0) field += headerValues(ctx, vary);
  return field;
}

/** The host the client named: `Host`, or HTTP/2's `:authority`, lower-cased. */
export function hostOf(ctx: GatewayContext): string {
  const host = ctx.forwarded.host ?? ctx.req.headers[':authority'];
  return typeof host === 'string' ? host.toLowerCase() : '';
}

/** The names in a `Vary` value, lower-cased and sorted; `['*']` for `Vary: *`. */
export function varyNames(value: unknown): string[] {
  if (value === undefined || value === null) return [];
  const names = new Set<string>();
  for (const part of String(Array.isArray(value) ? value.join(',') : value).split(',')) {
    const name = part.trim().toLowerCase();
    if (name === '*') return ['*'];
    if (name !== '') names.add(name);
  }
  return [...names].sort();
}
