import type { IncomingHttpHeaders } from 'node:http';

/** The client's own validators, taken off the request so the cache can fetch a whole answer to keep. */
export interface ClientConditions {
  ifNoneMatch: string | undefined;
  ifModifiedSince: string | undefined;
}

export function takeConditions(headers: IncomingHttpHeaders): ClientConditions | undefined {
  const ifNoneMatch = headers['if-none-match'];
  const ifModifiedSince = headers['if-modified-since'];
  if (ifNoneMatch === undefined && ifModifiedSince === undefined) return undefined;
  delete headers['if-none-match'];
  delete headers['if-modified-since'];
  return { ifNoneMatch, ifModifiedSince };
}

export function conditionsOf(headers: IncomingHttpHeaders): ClientConditions | undefined {
  const ifNoneMatch = headers['if-none-match'];
  const ifModifiedSince = headers['if-modified-since'];
  if (ifNoneMatch === undefined && ifModifiedSince === undefined) return undefined;
  return { ifNoneMatch, ifModifiedSince };
}

const opaque = (tag: string) => tag.trim().replace(/^W\//, '');

/**
 * RFC 9110 §13.1.2 and §13.2.2: If-None-Match (weak comparison) decides when present, else
 * If-Modified-Since against Last-Modified. True: the client's copy is current (answer 304).
 */
export function notModified(cond: ClientConditions, headers: Readonly<Record<string, unknown>>): boolean {
  const etag = headers.etag === undefined ? undefined : String(headers.etag);
  if (cond.ifNoneMatch !== undefined) {
    if (cond.ifNoneMatch.trim() === '*') return etag !== undefined;
    if (etag === undefined) return false;
    const mine = opaque(etag);
    return cond.ifNoneMatch.split(',').some((t) => opaque(t) === mine);
  }
  if (cond.ifModifiedSince === undefined || headers['last-modified'] === undefined) return false;
  const since = Date.parse(cond.ifModifiedSince);
  const modified = Date.parse(String(headers['last-modified']));
  return Number.isFinite(since) && Number.isFinite(modified) && modified <= since;
}

/** RFC 9110 §15.4.5: what a 304 carries of the stored answer's headers. */
const KEPT_ON_304 = [
  'cache-control',
  'content-location',
  'date',
  'etag',
  'expires',
  'vary',
  'last-modified',
  'age',
  'cache-status',
];

export function notModifiedHeaders(headers: Readonly<Record<string, unknown>>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const name of KEPT_ON_304) if (headers[name] !== undefined) out[name] = String(headers[name]);
  return out;
}
