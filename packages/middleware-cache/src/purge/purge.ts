import { type GatewayContext, GatewayError, normalizePath, sendJson } from '@lucid/gateway-core';
import type { CacheStore } from '../store/types.js';

/** What a purge asked for, checked: exactly one of `key` (a path) and `prefix`, each a normalized path. */
export function purgeTarget(search: string): { key: string } | { prefix: string } {
  const params = new URLSearchParams(search);
  const key = params.getAll('key');
  const prefix = params.getAll('prefix');
  if (key.length + prefix.length !== 1) {
    throw new GatewayError('GW_BAD_REQUEST', {
      detail:
        'give exactly one of ?key=<path> (one path, all its variants) and ?prefix=<path> (every path under it)',
    });
  }
  const raw = key[0] ?? prefix[0]!;
  if (raw.includes('?'))
    throw new GatewayError('GW_BAD_REQUEST', { detail: 'a purge names a path, without a query' });
  // The same normalization as requests, so `/nodes//list` and `/nodes/./list` name the stored `/nodes/list`.
  const { path } = normalizePath(raw);
  return key.length === 1 ? { key: path } : { prefix: path };
}

/**
 * The purge endpoint: `DELETE ?key=/nodes/list` drops one path's entries (every query, host, user
 * and variant), `DELETE ?prefix=/nodes/` every entry under a prefix. Answers `{ purged }`, the number
 * of paths dropped. Mount it behind an admin scope: a purge makes the upstreams do the work again.
 *
 * @example const purge = purgeHandler(cachePlugin.store); // in a route handler: await purge(ctx)
 */
export function purgeHandler(store: CacheStore) {
  return async function cachePurge(ctx: GatewayContext): Promise<void> {
    if (ctx.req.method !== 'DELETE') {
      throw new GatewayError('GW_METHOD_NOT_ALLOWED', {
        detail: 'purge with DELETE ?key=<path> or DELETE ?prefix=<path>',
        headers: { allow: 'DELETE' },
      });
    }
    const target = purgeTarget(ctx.search);
    let purged: number;
    try {
      purged = 'key' in target ? await store.purgePath(target.key) : await store.purgePrefix(target.prefix);
    } catch {
      throw new GatewayError('GW_UPSTREAM_UNAVAILABLE', {
        detail: 'the cache store is unavailable; nothing was purged',
      });
    }
    ctx.log.info({ ...target, purged }, 'cache purged');
    sendJson(ctx.res, 200, { ...target, purged }, { requestId: ctx.requestId, headers: ctx.responseHeaders });
  };
}
