import { GatewayError } from '../errors.js';
import type { GatewayContext } from '../types.js';

/** The host name of a Host header or an allow-list entry: port dropped, lowercased, no trailing dot. */
function hostnameOf(value: string): string {
  let host = value;
  if (host.startsWith('[')) {
    const end = host.indexOf(']');
    host = end === -1 ? host : host.slice(0, end + 1);
  } else if (host.indexOf(':') !== host.lastIndexOf(':')) {
    host = `[${host}]`; // a bare IPv6 address in the allow-list
  } else {
    const colon = host.indexOf(':');
    if (colon !== -1) host = host.slice(0, colon);
  }
  host = host.toLowerCase();
  return host.endsWith('.') ? host.slice(0, -1) : host;
}

/**
 * Refuses requests whose Host is not listed (like Starlette's TrustedHostMiddleware), so a
 * gateway reached by an unexpected name (DNS rebinding, a stray vhost) answers nothing useful.
 * Entries are host names (`api.lucid.dev`), `*.lucid.dev` for any subdomain, or `*` for any host.
 *
 * @example
 * const check = allowedHosts(['api.lucid.dev', '*.internal']);
 * check?.(ctx); // throws GW_HOST_NOT_ALLOWED for Host: evil.example
 */
export function allowedHosts(hosts: string[]): ((ctx: GatewayContext) => void) | undefined {
  if (hosts.includes('*')) return undefined;
  const exact = new Set<string>();
  const suffixes: string[] = [];
  for (const entry of hosts) {
    if (entry.startsWith('*.')) suffixes.push(hostnameOf(entry.slice(1)));
    else exact.add(hostnameOf(entry));
  }
  return function allowedHosts(ctx: GatewayContext): void {
    const header = ctx.req.headers.host;
    if (header) {
      const host = hostnameOf(header);
      if (exact.has(host)) return;
      for (const suffix of suffixes) {
        if (host.length > suffix.length && host.endsWith(suffix)) return;
      }
    }
    throw new GatewayError('GW_HOST_NOT_ALLOWED');
  };
}
