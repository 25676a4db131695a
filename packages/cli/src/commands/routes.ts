import { createGateway, createLogger, type RouteSummary } from '@lucid/gateway-core';
import { consulOptionsOf } from '@lucid/mesh-consul';
import type { FullConfig } from '../config/schema.js';
import { EXIT, type Io, reportError } from '../output.js';
import { standInPlugins } from '../plugins.js';
import { type ConfigFlags, loadWithFlags, sourceOf } from './common.js';

export interface RoutesFlags extends ConfigFlags {
  json?: boolean | undefined;
}

export interface RouteRow extends RouteSummary {
  /** The service's static targets, or where its targets come from. */
  upstream: string[];
}

/**
 * `lucid-gateway routes`: the route table the gateway builds from the config (configured routes
 * and the built-ins it keeps), read from core's own route list.
 */
export async function routesCommand(flags: RoutesFlags, io: Io): Promise<number> {
  try {
    const loaded = await loadWithFlags(flags);
    const rows = await routeTable(loaded.input, loaded.config);
    if (flags.json) {
      io.out(JSON.stringify(rows, null, 2));
      return EXIT.ok;
    }
    io.out(`routes from ${sourceOf(loaded)} (the longest matching prefix wins):\n`);
    io.out(formatTable(rows));
    return EXIT.ok;
  } catch (err) {
    return reportError(io, err);
  }
}

/** Builds the gateway (never started) to ask it for its routes. */
export async function routeTable(input: Record<string, unknown>, config: FullConfig): Promise<RouteRow[]> {
  const logger = createLogger({ level: 'silent', pretty: false, accessLog: false }, { write: () => {} });
  // Listing routes contacts nothing: stand-ins read the config as the real plugins would.
  const gateway = createGateway(input, { plugins: standInPlugins(input), logger });
  try {
    return gateway.routes().map((r) => ({ ...r, upstream: upstreamOf(r, config) }));
  } finally {
    await gateway.close({ graceMs: 0 });
  }
}

function upstreamOf(route: RouteSummary, config: FullConfig): string[] {
  if (route.kind === 'builtin') return ['(built-in)'];
  const service = route.service === undefined ? undefined : config.services[route.service];
  if (!service) return [];
  if (service.discovery !== 'static')
    return [`(${service.discovery}: ${consulOptionsOf(service).service ?? route.service})`];
  return service.targets.map((t) => (t.weight === 1 ? t.url : `${t.url} (weight ${t.weight})`));
}

function formatTable(rows: RouteRow[]): string {
  const header = ['PREFIX', 'METHODS', 'HOST', 'SERVICE', 'UPSTREAM', 'AUTH', 'SCOPES', 'STRIP'];
  const cells = rows.map((r) => [
    r.prefix,
    r.methods.join(','),
    r.host ?? '*',
    r.kind === 'builtin' ? `(${r.builtin})` : (r.service ?? ''),
    r.upstream.join(' '),
    r.auth,
    r.scopes.join(',') || '-',
    r.kind === 'builtin' ? '-' : r.stripPrefix ? 'yes' : 'no',
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...cells.map((c) => c[i]!.length)));
  const line = (c: string[]) =>
    c
      .map((v, i) => v.padEnd(widths[i]!))
      .join('  ')
      .trimEnd();
  return [line(header), ...cells.map(line)].join('\n');
}
