import { GatewayError } from '../errors.js';
import { type HostPattern, hostMatches, hostNameOf, parseHostPattern } from '../http/host-pattern.js';
import type { GatewayContext } from '../types.js';

/**
 * Refuses requests whose Host is not listed (like Starlette's TrustedHostMiddleware), so a
 * gateway reached by an unexpected name (DNS rebinding, a stray vhost) answers nothing useful.
 * Entries are host patterns (see `http/host-pattern.ts`): `api.lucid.dev`, `*.lucid.dev` for one
 * label below it, or `*` for any host.
 *
 * @example
 * const check = allowedHosts(['api.lucid.dev', '*.internal']);
 * check?.(ctx); // throws GW_HOST_NOT_ALLOWED for Host: evil.example
 */
export function allowedHosts(hosts: readonly string[]): ((ctx: GatewayContext) => void) | undefined {
  const patterns: HostPattern[] = [];
  for (const entry of hosts) {
    const pattern = parseHostPattern(entry);
    if (pattern === undefined) throw new Error(`allowedHosts: "${entry}" is not a host pattern`);
    if (pattern.kind === 'any') return undefined;
    patterns.push(pattern);
  }
  const exact = new Set(patterns.flatMap((p) => (p.kind === 'exact' ? [p.name] : [])));
  const wildcards = patterns.filter((p) => p.kind === 'wildcard');
  return function allowedHosts(ctx: GatewayContext): void {
    const header = ctx.req.headers.host;
    if (header) {
      const host = hostNameOf(header);
      if (exact.has(host)) return;
      for (const w of wildcards) if (hostMatches(w, host)) return;
    }
    throw new GatewayError('GW_HOST_NOT_ALLOWED');
  };
}
