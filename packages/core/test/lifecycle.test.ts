import type { GatewayPlugin, PluginSetup } from '@lucid/gateway-core';
import {
  type RunningGateway,
  send,
  startGateway,
  startUpstream,
  type Upstream,
  until,
} from '@lucid/test-kit';
import { afterEach, describe, expect, it } from 'vitest';

/**
 * The plugins' phases as a gateway runs them: start before ready; at close, leave before the drain
 * and close (or the older stop) after it, while a request is still in flight.
 */

const cleanups: Array<() => unknown> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

/** An upstream that holds each answer until released; `arrived` resolves on the first request. */
async function heldUpstream(): Promise<{ upstream: Upstream; arrived: Promise<void>; release(): void }> {
  let release!: () => void;
  const released = new Promise<void>((r) => {
    release = r;
  });
  let arrive!: () => void;
  const arrived = new Promise<void>((r) => {
    arrive = r;
  });
  const upstream = await startUpstream((_req, res) => {
    arrive();
    void released.then(() => res.end('late'));
  });
  cleanups.push(() => upstream.close());
  return { upstream, arrived, release };
}

function recorder(name: string, events: string[], legacy = false): GatewayPlugin {
  const on = (phase: string) => async () => {
    events.push(`${name}:${phase}`);
  };
  return {
    name,
    setup: (_: PluginSetup) => void events.push(`${name}:setup`),
    start: on('start'),
    // Its request finished (the proxy sent the answer) when `next()` resolves.
    middleware: () => async (ctx, next) => {
      await next();
      events.push(`${name}:answered ${ctx.res.statusCode}`);
    },
    ...(legacy ? { stop: on('stop') } : { leave: on('leave'), close: on('close') }),
  };
}

const config = (url: string) => ({
  logging: { level: 'warn', pretty: false, accessLog: false },
  services: { api: { targets: [url], health: false } },
  routes: [{ prefix: '/api', service: 'api', auth: 'public' }],
});

describe('plugin phases', () => {
  it('leave before the drain, close after it, in reverse order; stop runs where close runs', async () => {
    const held = await heldUpstream();
    const events: string[] = [];
    const gw: RunningGateway = await startGateway(config(held.upstream.url), [
      recorder('a', events),
      recorder('b', events, true),
      recorder('c', events),
    ]);
    expect(events).toEqual(['a:setup', 'b:setup', 'c:setup', 'a:start', 'b:start', 'c:start']);
    events.length = 0;

    const answer = send(`${gw.url}/api/slow`);
    await held.arrived;
    const closed = gw.gateway.close({ graceMs: 30_000 });
    // The drain waits on the request: the plugins have left, none is closed.
    await until(
      async () => events.length,
      (n) => n >= 2,
    );
    expect(events).toEqual(['c:leave', 'a:leave']);
    expect(gw.gateway.ready).toBe(false);
    held.release();
    await closed;
    expect((await answer).body.toString()).toBe('late');
    expect(events).toEqual([
      'c:leave',
      'a:leave',
      'c:answered 200',
      'b:answered 200',
      'a:answered 200',
      'c:close',
      'b:stop',
      'a:close',
    ]);
  });

  it('reports a failing leave or close and still closes the others', async () => {
    const held = await heldUpstream();
    const events: string[] = [];
    const failing: GatewayPlugin = {
      name: 'failing',
      leave: async () => {
        throw new Error('registry gone');
      },
      close: async () => {
        throw new Error('already closed');
      },
    };
    const gw = await startGateway(config(held.upstream.url), [recorder('a', events), failing]);
    await gw.gateway.close({ graceMs: 1_000 });
    expect(events.slice(-2)).toEqual(['a:leave', 'a:close']);
    const warned = gw.logs.filter((l) => l.plugin === 'failing').map((l) => [l.phase, l.reason]);
    expect(warned).toEqual([
      ['leave', 'registry gone'],
      ['close', 'already closed'],
    ]);
  });

  it('does not start when a plugin fails to start, and says which', async () => {
    const held = await heldUpstream();
    const broken: GatewayPlugin = {
      name: 'broken',
      start: async () => {
        throw new Error('cannot reach its store');
      },
    };
    await expect(startGateway(config(held.upstream.url), [broken])).rejects.toThrow('cannot reach its store');
  });
});
