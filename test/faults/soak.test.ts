import { Agent, request } from 'node:http';
import { freePort, send, startUpstream, type Upstream } from '@lucid/test-kit';
import { ensureBuilt } from '@lucid/test-kit/cli';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { head, RawConnection, rawExchange } from '../security/support/raw.js';
import { type ChildStats, forkGateway, type GatewayChild } from './support/child.js';

/**
 * A bounded soak: a gateway process takes twenty seconds of mixed traffic and faults (slow,
 * resetting and refusing upstreams, clients that leave, oversize bodies, malformed requests,
 * slowloris heads, keep-alive reuse). Afterwards its heap (after a full GC), open sockets and
 * file descriptors must be back near where they were after the warm-up.
 */

const SOAK_MS = 20_000;
const WORKERS = 16;

let upstreams: Upstream[] = [];
let gateway: GatewayChild | undefined;

function ok(): Promise<Upstream> {
  return startUpstream((_req, res, seen) => {
    const body = JSON.stringify({ url: seen.url, bytes: seen.bodyBytes });
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
    res.end(body);
  });
}

beforeAll(async () => {
  await ensureBuilt();
  const echo = await ok();
  // Answers after the gateway's route timeout has run out (and then never).
  const slow = await startUpstream(() => {}, { streaming: true });
  const reset = await startUpstream(
    (req, res) => {
      req.resume();
      res.writeHead(200, { 'content-length': 10_000 });
      res.write('x'.repeat(100), () => res.socket?.destroy());
    },
    { streaming: true },
  );
  const stream = await startUpstream(
    (req, res) => {
      req.resume();
      res.writeHead(200, { 'content-type': 'application/octet-stream' });
      const chunk = Buffer.alloc(64 * 1024, 5);
      let left = 64;
      const pump = () => {
        while (left > 0 && !res.destroyed) {
          left--;
          if (!res.write(chunk)) return void res.once('drain', pump);
        }
        if (!res.destroyed) res.end();
      };
      pump();
    },
    { streaming: true },
  );
  upstreams = [echo, slow, reset, stream];
  const refused = await freePort();
  gateway = await forkGateway(
    {
      server: {
        limits: { body: '64kb', headers: '8kb' },
        timeouts: { headers: '1s', request: '2s', keepAlive: '1s' },
      },
      services: {
        echo: { targets: [echo.url], health: false },
        slow: { targets: [slow.url], timeout: '200ms', health: false, retry: { attempts: 0 } },
        reset: { targets: [reset.url], health: false, retry: { attempts: 0 } },
        refused: { targets: [`http://127.0.0.1:${refused}`], health: false },
        stream: { targets: [stream.url], health: false },
      },
      routes: ['echo', 'slow', 'reset', 'refused', 'stream'].map((s) => ({
        prefix: `/${s}`,
        service: s,
        auth: 'public',
      })),
    },
    ['--expose-gc', '--max-old-space-size=256'],
  );
}, 180_000);

afterAll(async () => {
  await gateway?.kill();
  await Promise.all(upstreams.map((u) => u.close()));
});

/** One random action of the mix; resolves when it has played out. */
async function act(port: number, agent: Agent, n: number): Promise<void> {
  const url = `http://127.0.0.1:${port}`;
  switch (n % 12) {
    case 0:
    case 1:
      expect((await send(`${url}/echo/get`)).status).toBe(200);
      return;
    case 2:
      expect((await send(`${url}/echo/post`, { method: 'POST', body: Buffer.alloc(30_000, 1) })).status).toBe(
        200,
      );
      return;
    case 3:
      // 504, or 503 once the breaker has opened on the timeouts.
      expect([503, 504]).toContain((await send(`${url}/slow/x`)).status);
      return;
    case 4: {
      // Reset mid-body: the client sees a cut connection (or a 5xx once the target is ejected).
      const reply = await rawExchange(port, head('GET /reset/x HTTP/1.1', 'Host: a', 'Connection: close'));
      expect(reply.responses.filter((r) => r.status < 500)).toEqual([]);
      return;
    }
    case 5:
      expect((await send(`${url}/refused/x`)).status).toBe(503);
      return;
    case 6: {
      // A client that leaves as soon as the download starts.
      await new Promise<void>((resolve) => {
        const req = request({ host: '127.0.0.1', port, path: '/stream/x', agent: false }, (res) => {
          res.once('data', () => {
            req.destroy();
            resolve();
          });
        });
        req.on('error', () => resolve());
        req.end();
      });
      return;
    }
    case 7: {
      // A client that leaves halfway through its upload.
      const conn = await RawConnection.open(port);
      await conn.write(head('POST /echo/up HTTP/1.1', 'Host: a', 'Content-Length: 50000'));
      await conn.write(Buffer.alloc(20_000, 2));
      conn.destroy();
      await conn.closed;
      return;
    }
    case 8: {
      const reply = await rawExchange(
        port,
        head('POST /echo/big HTTP/1.1', 'Host: a', 'Content-Length: 1000000', 'Connection: close'),
      );
      expect(reply.responses[0]?.status).toBe(413);
      return;
    }
    case 9: {
      const reply = await rawExchange(
        port,
        head('POST /echo/x HTTP/1.1', 'Host: a', 'Content-Length: 3', 'Transfer-Encoding: chunked'),
      );
      expect(reply.responses[0]?.status).toBe(400);
      return;
    }
    case 10: {
      // A slowloris head: the gateway closes it.
      const conn = await RawConnection.open(port);
      await conn.write('GET /echo/x HTTP/1.1\r\nHost: a\r\n');
      await conn.closed;
      return;
    }
    default: {
      // Keep-alive reuse through a shared agent.
      await new Promise<void>((resolve, reject) => {
        const req = request({ host: '127.0.0.1', port, path: '/echo/ka', agent }, (res) => {
          res.resume();
          res.on('end', () => resolve());
        });
        req.on('error', reject);
        req.end();
      });
    }
  }
}

async function drive(port: number, until: number, workers: number): Promise<number> {
  const agent = new Agent({ keepAlive: true, maxSockets: 8 });
  let done = 0;
  try {
    await Promise.all(
      Array.from({ length: workers }, async (_, w) => {
        for (let n = w; Date.now() < until; n += workers) {
          await act(port, agent, n);
          done++;
        }
      }),
    );
  } finally {
    agent.destroy();
  }
  return done;
}

/** Lets idle keep-alive connections go on both sides, then reads the gateway's figures. */
async function settled(gw: GatewayChild, baseline?: ChildStats): Promise<ChildStats> {
  for (const u of upstreams) u.server.closeIdleConnections();
  // Sockets close as their peers go; wait for the count (not a fixed time), with a deadline.
  const deadline = Date.now() + 15_000;
  for (;;) {
    const stats = await gw.stats();
    if (baseline === undefined || stats.sockets <= baseline.sockets + 2 || Date.now() > deadline)
      return stats;
    for (const u of upstreams) u.server.closeIdleConnections();
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe('soak with mixed faults', () => {
  it('returns heap, sockets and file descriptors to their baseline', async () => {
    const gw = gateway!;
    // Warm-up: every path once or more, so caches, JIT and pools are in their steady shape.
    await drive(gw.port, Date.now() + 2_000, WORKERS);
    const baseline = await settled(gw);

    const requests = await drive(gw.port, Date.now() + SOAK_MS, WORKERS);
    const after = await settled(gw, baseline);

    expect(requests).toBeGreaterThan(1_000);
    expect(after.sockets).toBeLessThanOrEqual(baseline.sockets + 2);
    expect(after.fds).toBeLessThanOrEqual(baseline.fds + 4);
    // After a full GC: within 8 MiB of the warm baseline (a leak of a few hundred bytes per request
    // over thousands of requests would show).
    expect(after.heapUsed).toBeLessThan(baseline.heapUsed + 8 * 1024 ** 2);

    const { code } = await gw.close();
    gateway = undefined;
    expect(code).toBe(0);
  }, 90_000);
});
