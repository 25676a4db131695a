import { DEFAULT_IDENTITY_HEADERS, type GatewayConfig } from '../config/schema.js';
import type { GatewayPlugin } from '../plugin.js';

/**
 * The identity headers no client may send, lower-cased: core's defaults, `server.identityHeaders`
 * and every header a plugin declares it sets. The set only grows: naming headers of one's own (in
 * the config or a plugin's `forward`) never lets a client's `x-user-id` through.
 */
export function identityHeadersOf(config: GatewayConfig, plugins: readonly GatewayPlugin[]): string[] {
  const names = [
    ...DEFAULT_IDENTITY_HEADERS,
    ...(config.server.identityHeaders ?? []),
    ...plugins.flatMap((p) => p.identityHeaders ?? []),
  ];
  return [...new Set(names.map((h) => h.toLowerCase()))];
}
