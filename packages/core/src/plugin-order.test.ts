import { type RunningGateway, send, startGateway, startUpstream, type Upstream } from '@lucid/test-kit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type GatewayPlugin, PLUGIN_ORDER } from './plugin.js';

/** Where a plugin's middleware runs: before the body is buffered, or (from `afterBody` on) after it, before admission. */
describe('plugin order around the buffered body', () => {
  const seen: string[] = [];
  const watcher = (name: string, order: number): GatewayPlugin => ({
    name,
    order,
    middleware: () =>
      async function watch(ctx, next) {
        seen.push(`${name}:${ctx.heldBody === undefined ? 'no body yet' : ctx.heldBody.toString()}`);
        return next();
      },
  });
  let upstream: Upstream;
  let gw: RunningGateway;
  beforeAll(async () => {
    upstream = await startUpstream();
    gw = await startGateway(
      {
        logging: { level: 'silent', pretty: false, accessLog: false },
        services: { a: { targets: [upstream.url], health: false, maxConnections: 1 } },
        routes: [{ prefix: '/a', service: 'a', auth: 'public' }],
      },
      [watcher('late', PLUGIN_ORDER.afterBody), watcher('early', PLUGIN_ORDER.user)],
    );
  });
  afterAll(async () => {
    await gw?.close();
    await upstream?.close();
  });

  it('runs a plugin ordered afterBody once the body is held, and the others before', async () => {
    const res = await send(`${gw.url}/a/x`, { method: 'POST', body: 'hello' });
    expect(res.status).toBe(200);
    expect(seen).toEqual(['early:no body yet', 'late:hello']);
    expect(upstream.seen.at(-1)?.bodyBytes).toBe(5);
  });
});
