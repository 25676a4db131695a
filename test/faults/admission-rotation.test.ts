import type { ServerResponse } from 'node:http';
import { type RunningGateway, send, startGateway, startUpstream, type Upstream } from '@lucid/test-kit';
import { afterEach, describe, expect, it } from 'vitest';

/**
 * `maxConnections` per target against real upstreams that count what they hold: a target at its
 * cap gets no more requests (they wait in the queue), and a queued request goes in as soon as a
 * target comes back into rotation, not only when a request in flight finishes.
 */

interface Counted {
  up: Upstream;
  active: number;
  max: number;
  /** Requests held open (answered when the test lets them go). */
  held: ServerResponse[];
  hold: boolean;
  healthy: boolean;
}

async function counted(opts: { hold: boolean; healthy: boolean }): Promise<Counted> {
  const c: Counted = { up: undefined as unknown as Upstream, active: 0, max: 0, held: [], ...opts };
  c.up = await startUpstream((req, res) => {
    if (req.url === '/health') {
      res.writeHead(c.healthy ? 200 : 503).end();
      return;
    }
    c.active++;
    c.max = Math.max(c.max, c.active);
    res.once('close', () => c.active--);
    if (c.hold) c.held.push(res);
    else res.writeHead(200).end('ok');
  });
  return c;
}

const release = (c: Counted) => {
  c.hold = false;
  for (const res of c.held.splice(0)) res.writeHead(200).end('held');
};

let gw: RunningGateway | undefined;
let upstreams: Counted[] = [];

afterEach(async () => {
  for (const c of upstreams) release(c);
  await gw?.close();
  gw = undefined;
  await Promise.all(upstreams.map((c) => c.up.close()));
  upstreams = [];
});

async function setup(a: Counted, b: Counted) {
  upstreams = [a, b];
  gw = await startGateway({
    logging: { level: 'warn', pretty: false, accessLog: false },
    services: {
      svc: {
        targets: [a.up.url, b.up.url],
        health: { path: '/health', interval: '50ms', healthyThreshold: 1, unhealthyThreshold: 1 },
        maxConnections: 1,
        queue: { size: 10, timeout: '60s' },
      },
    },
    routes: [{ prefix: '/svc', service: 'svc', auth: 'public' }],
  });
  return gw;
}

const untilSeen = async (c: Counted, n: number) => {
  await expect.poll(() => c.up.seen.filter((s) => s.url !== '/health').length, { timeout: 30_000 }).toBe(n);
};

describe('maxConnections per target with a queue', () => {
  it('a queued request goes in when a target comes back into rotation, never to the target at its cap', async () => {
    const a = await counted({ hold: true, healthy: true });
    const b = await counted({ hold: false, healthy: false });
    const gw = await setup(a, b);
    const first = send(`${gw.url}/svc/one`);
    await untilSeen(a, 1);
    // A is at its cap and B is out of rotation: this one waits in the queue.
    const second = send(`${gw.url}/svc/two`);
    b.healthy = true;
    // B's next passing check brings it back; the queued request goes there while A still holds one.
    expect((await second).status).toBe(200);
    expect(a.held).toHaveLength(1);
    expect(b.up.seen.filter((s) => s.url.endsWith('/two'))).toHaveLength(1);
    release(a);
    expect((await first).status).toBe(200);
    expect(a.max).toBe(1);
    expect(b.max).toBe(1);
  });

  it('never holds more than the cap at any target while requests queue', async () => {
    const a = await counted({ hold: true, healthy: true });
    const b = await counted({ hold: true, healthy: true });
    const gw = await setup(a, b);
    const replies = Array.from({ length: 8 }, (_, i) => send(`${gw.url}/svc/r${i}`));
    const holding = () => a.held.length + b.held.length;
    // Six wait in the queue; each answer lets exactly one more in, to the target that freed up.
    for (let i = 0; i < 6; i++) {
      await expect.poll(holding, { timeout: 30_000 }).toBe(2);
      (a.held.shift() ?? b.held.shift())!.writeHead(200).end('held');
    }
    await expect.poll(holding, { timeout: 30_000 }).toBe(2);
    release(a);
    release(b);
    expect((await Promise.all(replies)).map((r) => r.status)).toEqual(Array(8).fill(200));
    expect(a.max).toBe(1);
    expect(b.max).toBe(1);
  });
});
