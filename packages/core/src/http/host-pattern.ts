/**
 * Host patterns, one notation for the whole gateway (route `host`, `server.allowedHosts`):
 *
 * - `*` (or nothing): any host;
 * - a name (`api.example.com`) or an address (`127.0.0.1`, `[::1]`, or `::1` bare): that host;
 * - `*.example.com`: exactly one label before `example.com`, as a TLS wildcard matches
 *   (RFC 6125 §6.4.3): `a.example.com`, not `example.com`, not `a.b.example.com`.
 *
 * Names compare case-insensitively, without the port and a trailing dot.
 */
export type HostPattern =
  | { kind: 'any' }
  | { kind: 'exact'; name: string }
  /** `suffix` keeps its leading dot: `.example.com`. */
  | { kind: 'wildcard'; suffix: string };

const ANY: HostPattern = Object.freeze({ kind: 'any' });

/** A DNS name or IPv4 address (lower-cased), or an IPv6 address in brackets. */
const NAME = /^(?:[a-z0-9_-]+(?:\.[a-z0-9_-]+)*|\[[0-9a-f:.]+\])$/;

/** The pattern a config entry spells, or undefined when it is not one. */
export function parseHostPattern(text: string): HostPattern | undefined {
  if (text === '' || text === '*') return ANY;
  const name = hostNameOf(text);
  if (name === '' || name === '[]') return undefined;
  if (name.startsWith('*.')) {
    const suffix = name.slice(1);
    return NAME.test(suffix.slice(1)) && !suffix.startsWith('.[') ? { kind: 'wildcard', suffix } : undefined;
  }
  return NAME.test(name) ? { kind: 'exact', name } : undefined;
}

/** The name in a Host header or pattern: port dropped, lower-cased, no trailing dot; IPv6 in brackets. */
export function hostNameOf(value: string): string {
  let host = value;
  if (host.startsWith('[')) {
    const end = host.indexOf(']');
    host = end === -1 ? host : host.slice(0, end + 1);
  } else if (host.indexOf(':') !== host.lastIndexOf(':')) {
    host = `[${host}]`; // a bare IPv6 address
  } else {
    const colon = host.indexOf(':');
    if (colon !== -1) host = host.slice(0, colon);
  }
  host = host.toLowerCase();
  return host.endsWith('.') ? host.slice(0, -1) : host;
}

/** Does a host name (as `hostNameOf` gives it) match the pattern? */
export function hostMatches(pattern: HostPattern, name: string): boolean {
  switch (pattern.kind) {
    case 'any':
      return true;
    case 'exact':
      return name === pattern.name;
    case 'wildcard': {
      const labelEnd = name.length - pattern.suffix.length;
      return labelEnd > 0 && name.endsWith(pattern.suffix) && name.indexOf('.') === labelEnd;
    }
  }
}

/** What a config says when a pattern is wrong. */
export const HOST_PATTERN_HINT = 'a host is a name like "api.example.com", "*.example.com" or "*"';
