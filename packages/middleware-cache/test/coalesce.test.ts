import type { ServerResponse } from 'node:http';
import { send, until } from '@lucid/test-kit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type CachedGateway, cachedGateway, scriptedUpstream } from './support.js';

const inFlight = async (gw: CachedGateway) => {
  const text = await gw.gateway.registry.getSingleMetricAsString('lucid_gateway_http_requests_in_flight');
  return Number(/ (\d+)\s*$/.exec(text)?.[1] ?? 0);
};

describe('request coalescing (memory store)', () => {
  let up: Awaited<ReturnType<typeof scriptedUpstream>>;
  let gw: CachedGateway;
  const held: ServerResponse[] = [];

  beforeAll(async () => {
    up = await scriptedUpstream({
      '/slow': (_r, _n, res) => {
        held.push(res);
        return undefined;
      },
      '/uncacheable': (_r, n) => ({ headers: { 'cache-control': 'no-store' }, body: `u ${n}` }),
    });
    gw = await cachedGateway(up, { server: { limits: { connections: 1000 } } });
  });
  afterAll(async () => {
    await gw.close();
    await up.close();
  });

  it('100 concurrent misses for one key send one request upstream', async () => {
    const replies = Array.from({ length: 100 }, () => send(`${gw.url}/api/slow`));
    // Every request is in the gateway (99 waiting on the first) before the upstream answers.
    await until(
      () => inFlight(gw),
      (n) => n >= 100,
    );
    expect(up.hits('/slow')).toBe(1);
    const body = 'block 42';
    held[0]!.writeHead(200, { 'cache-control': 'max-age=60', 'content-length': body.length });
    held[0]!.end(body);
    const all = await Promise.all(replies);
    expect(all.every((r) => r.status === 200 && r.text === body)).toBe(true);
    expect(up.hits('/slow')).toBe(1);
    expect(all.filter((r) => String(r.headers['cache-status']).includes('collapsed')).length).toBe(99);
  });

  it('waiters for an answer that cannot be stored go upstream themselves', async () => {
    const all = await Promise.all(Array.from({ length: 5 }, () => send(`${gw.url}/api/uncacheable`)));
    expect(all.every((r) => r.status === 200)).toBe(true);
    expect(up.hits('/uncacheable')).toBe(5);
  });
});
