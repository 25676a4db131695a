import type { OutgoingHttpHeaders } from 'node:http';
import type { GatewayPlugin } from '@lucid/gateway-core';
import { type Reply, send } from '@lucid/test-kit';

/**
 * Stands in for the auth plugin (order 100): trusts a test-only header `x-test-verified: <sub>:<tier>`
 * as if it were a verified token's claims. Nothing else sets `ctx.state.identity`.
 */
export const testIdentity: GatewayPlugin = {
  name: 'test-identity',
  order: 100,
  middleware: () =>
    async function testIdentity(ctx, next) {
      const signal = ctx.req.headers['x-test-verified'];
      if (typeof signal === 'string') {
        const [sub, tier] = signal.split(':');
        ctx.state.identity = { sub, tier: tier || undefined, scopes: new Set(), claims: { sub } };
      }
      return next();
    },
};

/** Sends `count` requests, at most `concurrency` in flight; `headersOf(i)` gives each one's headers. */
export async function sendMany(
  url: string | ((i: number) => string),
  count: number,
  headersOf: (i: number) => OutgoingHttpHeaders = () => ({}),
  concurrency = 50,
): Promise<Reply[]> {
  const replies: Reply[] = new Array(count);
  let next = 0;
  const worker = async () => {
    while (next < count) {
      const i = next++;
      replies[i] = await send(typeof url === 'string' ? url : url(i), { headers: headersOf(i) });
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, count) }, worker));
  return replies;
}

export const statuses = (replies: Reply[]) => {
  const out: Record<number, number> = {};
  for (const r of replies) out[r.status] = (out[r.status] ?? 0) + 1;
  return out;
};

/** A sample's value in Prometheus text: `metric(text, 'x_total', { store: 'redis' })`. */
export function metric(text: string, name: string, labels: Record<string, string> = {}): number {
  let total = 0;
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name}{`) && !line.startsWith(`${name} `)) continue;
    if (!Object.entries(labels).every(([k, v]) => line.includes(`${k}="${v}"`))) continue;
    total += Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return total;
}
