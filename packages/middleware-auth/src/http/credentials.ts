import type { IncomingMessage } from 'node:http';

/**
 * How many times a header appears in the request as sent. Node keeps only the first
 * `Authorization` in `req.headers`, so a second one (a smuggling or confusion attempt) is
 * only visible in `rawHeaders`.
 */
export function headerCount(req: IncomingMessage, lowerName: string): number {
  const raw = req.rawHeaders;
  let count = 0;
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i]!;
    if (name.length === lowerName.length && name.toLowerCase() === lowerName) count++;
  }
  return count;
}

// RFC 6750 §2.1: "Bearer" 1*SP b64token; the scheme is case-insensitive (RFC 9110 §11.1).
const BEARER = /^bearer +([A-Za-z0-9\-._~+/]+=*)$/i;

/** The token of a `Bearer` credential, or undefined when the header is anything else. */
export function bearerToken(authorization: string): string | undefined {
  return BEARER.exec(authorization)?.[1];
}
