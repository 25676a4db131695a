import type { Target } from '@lucid/gateway-core';
import type { HealthEntry } from '../client/types.js';

/**
 * Consul's healthy instances as gateway targets: the service address (else the node's) and
 * port, as an `http(s)://address:port` origin that stays the same across updates; sorted, and
 * one target per origin.
 *
 * @example toTargets(entries, 'http') // [{ id: 'http://10.0.0.5:8080', url, weight: 1, meta: { node, serviceId } }]
 */
export function toTargets(entries: readonly HealthEntry[], scheme: 'http' | 'https'): Target[] {
  const byId = new Map<string, Target>();
  for (const entry of entries) {
    const address = entry.Service?.Address || entry.Node?.Address;
    const port = entry.Service?.Port;
    if (!address || !Number.isInteger(port) || port <= 0 || port > 65_535) continue;
    const host = address.includes(':') && !address.startsWith('[') ? `[${address}]` : address;
    const id = `${scheme}://${host}:${port}`;
    if (byId.has(id)) continue;
    let url: URL;
    try {
      url = new URL(id);
    } catch {
      continue;
    }
    const meta: Record<string, string> = { node: entry.Node.Node, serviceId: entry.Service.ID };
    if (entry.Node.Datacenter) meta.datacenter = entry.Node.Datacenter;
    if (entry.Service.Namespace) meta.namespace = entry.Service.Namespace;
    const weight = entry.Service.Weights?.Passing;
    byId.set(id, {
      id,
      url,
      weight: Number.isInteger(weight) && weight! >= 1 ? Math.min(weight!, 1000) : 1,
      meta,
    });
  }
  return [...byId.values()].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
}

/** A cheap identity of a target list, to push only real changes. */
export function targetsKey(targets: readonly Target[]): string {
  return targets.map((t) => `${t.id}*${t.weight}`).join(',');
}
