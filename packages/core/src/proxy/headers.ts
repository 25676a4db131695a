import type { IncomingHttpHeaders, OutgoingHttpHeaders } from 'node:http';
import type { GatewayContext, Target } from '../types.js';
import { rewriteRedirects } from './redirects.js';

/** RFC 9110 §7.6.1 connection-specific headers, plus the non-standard ones proxies also drop. */
const HOP_BY_HOP = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'proxy-authenticate',
  'proxy-authorization',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
  'http2-settings',
  // Answered by the gateway's own server (100-continue) before the request is forwarded.
  'expect',
]);

/** RFC 9113 §8.2.2: connection-specific fields an HTTP/2 message must not carry. */
export const HTTP2_FORBIDDEN: readonly string[] = [
  'connection',
  'keep-alive',
  'proxy-connection',
  'transfer-encoding',
  'upgrade',
];

/** Headers the gateway sets itself from what it knows; a client's copies are never forwarded. */
const GATEWAY_OWNED = new Set([
  'host',
  'x-forwarded-for',
  'x-forwarded-proto',
  'x-forwarded-host',
  'x-forwarded-port',
  'x-real-ip',
  'forwarded',
  'x-request-id',
  'traceparent',
]);

/** Header names listed in a `Connection` header: they are hop-by-hop for this message only. */
function connectionListed(value: string | string[] | undefined): Set<string> | undefined {
  if (value === undefined) return undefined;
  const set = new Set<string>();
  for (const token of String(value).split(',')) {
    const name = token.trim().toLowerCase();
    if (name !== '' && name !== 'close' && name !== 'keep-alive') set.add(name);
  }
  return set.size ? set : undefined;
}

/** RFC 9110 §10.1.4: TE lists the keyword "trailers" (which takes no parameters). */
function acceptsTrailers(te: string): boolean {
  for (const member of te.split(',')) if (member.trim().toLowerCase() === 'trailers') return true;
  return false;
}

/**
 * The headers sent upstream: the client's minus hop-by-hop and gateway-owned ones, then the
 * gateway's own (forwarding, request id, trace) and what middleware added.
 */
export function upstreamRequestHeaders(
  ctx: GatewayContext,
  target: Target,
  preserveHost: boolean,
): OutgoingHttpHeaders {
  const incoming = ctx.req.headers;
  const listed = connectionListed(incoming.connection);
  const out: OutgoingHttpHeaders = {};
  for (const name in incoming) {
    if (HOP_BY_HOP.has(name) || GATEWAY_OWNED.has(name) || listed?.has(name)) continue;
    // CGI-style servers read `X_User_Id` as `X-User-Id`: a way round every header the gateway owns (nginx drops them too).
    // HTTP/2 pseudo-headers (`:path`, ...) belong to the client's hop; the engine writes its own.
    if (name.includes('_') || name.charCodeAt(0) === 58 /* : */) continue;
    out[name] = incoming[name];
  }
  // TE is hop-by-hop, but "trailers" says the client reads trailers (gRPC needs it): keep only that.
  if (incoming.te !== undefined && acceptsTrailers(String(incoming.te))) out.te = 'trailers';
  out.host = preserveHost && ctx.forwarded.host ? ctx.forwarded.host : target.url.host;
  out['x-forwarded-for'] = ctx.forwarded.forwardedFor;
  out['x-forwarded-proto'] = ctx.protocol;
  if (ctx.forwarded.host !== undefined) out['x-forwarded-host'] = ctx.forwarded.host;
  out['x-request-id'] = ctx.requestId;
  out.traceparent = ctx.traceparent;
  const extra = ctx.upstreamHeaders;
  for (const name in extra) out[name] = extra[name];
  return out;
}

/** The upstream's response headers minus hop-by-hop ones, plus what the gateway adds to every answer. */
export function clientResponseHeaders(
  ctx: GatewayContext,
  upstream: IncomingHttpHeaders,
): OutgoingHttpHeaders {
  const listed = connectionListed(upstream.connection);
  const out: OutgoingHttpHeaders = {};
  for (const name in upstream) {
    if (HOP_BY_HOP.has(name) || listed?.has(name)) continue;
    out[name] = upstream[name];
  }
  addGatewayResponseHeaders(ctx, out);
  return out;
}

/**
 * Adds the gateway's response headers onto an upstream's (already free of hop-by-hop ones):
 * the gateway's win, except `Vary`, which is merged so the upstream's cache keys survive.
 */
export function addGatewayResponseHeaders(
  ctx: GatewayContext,
  out: OutgoingHttpHeaders | IncomingHttpHeaders,
): void {
  if (ctx.ownsCors) {
    for (const name in out) if (name.startsWith('access-control-')) delete out[name];
  }
  const extra = ctx.responseHeaders;
  for (const name in extra) {
    const value = extra[name];
    if (name === 'vary' && out.vary !== undefined) out.vary = mergeVary(String(out.vary), String(value));
    else (out as OutgoingHttpHeaders)[name] = value;
  }
  out['x-request-id'] = ctx.requestId;
  rewriteRedirects(ctx, out);
}

function mergeVary(a: string, b: string): string {
  if (a.trim() === '*' || b.trim() === '*') return '*';
  const seen = new Set(a.split(',').map((v) => v.trim().toLowerCase()));
  const extra = b
    .split(',')
    .map((v) => v.trim())
    .filter((v) => v !== '' && !seen.has(v.toLowerCase()));
  return extra.length ? `${a}, ${extra.join(', ')}` : a;
}

/** Strips hop-by-hop headers in place (for engines that copy the upstream's headers themselves). */
export function stripHopByHop(headers: IncomingHttpHeaders): void {
  const listed = connectionListed(headers.connection);
  for (const name of Object.keys(headers)) {
    if (HOP_BY_HOP.has(name) || listed?.has(name)) delete headers[name];
  }
}

/** Fields never relayed as trailers: framing, routing, credentials and what the gateway owns. */
const NOT_A_TRAILER = new Set([
  ...HOP_BY_HOP,
  'host',
  'content-length',
  'content-type',
  'content-encoding',
  'authorization',
  'cookie',
  'set-cookie',
  ...GATEWAY_OWNED,
]);

/** The trailer fields worth relaying (pseudo-headers and forbidden ones dropped), or undefined if none. */
export function trailerFields(
  raw: Readonly<Record<string, string | string[] | undefined>> | undefined,
): Record<string, string | string[]> | undefined {
  let out: Record<string, string | string[]> | undefined;
  for (const name in raw) {
    const value = raw[name];
    if (value === undefined || name.charCodeAt(0) === 58 || NOT_A_TRAILER.has(name)) continue;
    out ??= {};
    out[name] = value;
  }
  return out;
}
