import type { DashboardColumn, ProxyRoute } from '@lucid/gateway-core';

interface Rate {
  limit: number;
  windowMs: number;
}

function showRate(r: Rate): string {
  return r.windowMs % 1000 === 0 ? `${r.limit}/${r.windowMs / 1000}s` : `${r.limit}/${r.windowMs}ms`;
}

/**
 * The dashboard's "rate limit" column for a route: `default` (the tiers' limits), `off`, or the
 * route's own limit(s), like `100/60s` or `{ free: '5/1s' }`.
 */
export function rateLimitColumn(route: ProxyRoute): Record<string, DashboardColumn> {
  const r = route.config.rateLimit as false | Rate | Record<string, Rate> | undefined;
  let value: DashboardColumn['value'];
  if (r === undefined || r === null) value = 'default';
  else if (r === false) value = 'off';
  else if ('limit' in r && typeof r.limit === 'number') value = showRate(r as Rate);
  else {
    const out: Record<string, string> = {};
    for (const [tier, rate] of Object.entries(r as Record<string, Rate>)) out[tier] = showRate(rate);
    value = out;
  }
  return { rateLimit: { label: 'rate limit', value } };
}
