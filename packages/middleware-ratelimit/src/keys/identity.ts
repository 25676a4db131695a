import type { GatewayContext } from '@lucid/gateway-core';
import type { RateLimitConfig } from '../config/schema.js';
import { hashedKey, ipKey } from './client-key.js';

/** Who a request counts against, as a short key part: `u:<sub>`, `ip:<addr or /64>` or `h:<hash>`. */
export type IdentityOf = (ctx: GatewayContext) => string;

/**
 * Builds the identity function for `keyBy` once. Only the verified identity (`ctx.state.identity`,
 * set by an authenticating plugin) and the address core worked out (`ctx.clientIp`, X-Forwarded-For believed only
 * from trusted proxies) are used, so a client cannot pick its own key with a header.
 */
export function identityOf(keyBy: RateLimitConfig['keyBy']): IdentityOf {
  if (keyBy === 'ip') {
    return function byIp(ctx) {
      return `ip:${ipKey(ctx.clientIp)}`;
    };
  }
  if (keyBy === 'user') {
    return function byUser(ctx) {
      const sub = ctx.state.identity?.sub;
      return typeof sub === 'string' && sub !== '' ? `u:${sub}` : `ip:${ipKey(ctx.clientIp)}`;
    };
  }
  const name = keyBy.header;
  return function byHeader(ctx) {
    const value = ctx.req.headers[name];
    return typeof value === 'string' && value !== '' ? `h:${hashedKey(value)}` : `ip:${ipKey(ctx.clientIp)}`;
  };
}
