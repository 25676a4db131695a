import { type RunningGateway, send, startGateway, startUpstream, type Upstream } from '@lucid/test-kit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { head, RawConnection } from '../security/support/raw.js';

/**
 * 500 clients upload 32 KiB bodies at about 5 KiB/s each (inside every limit) while plain GETs go
 * to the same service. With request buffering the uploads wait in the gateway's memory, not on
 * upstream connections, so the GETs are answered while the uploads go on. The GETs' p99 is
 * printed (a number for the notes, never an assertion).
 */

const UPLOADERS = 500;
const BODY = 32 * 1024;
const PIECE = 1024;
const EVERY_MS = 200; // 1 KiB every 200 ms: 5 KiB/s
const CAP = 16;

describe('slow uploaders do not starve a service', () => {
  let up: Upstream;
  let gw: RunningGateway;
  let active = 0;
  let maxActive = 0;
  beforeAll(async () => {
    up = await startUpstream();
    up.server.on('request', (_req, res) => {
      active++;
      maxActive = Math.max(maxActive, active);
      res.once('close', () => active--);
    });
    gw = await startGateway({
      logging: { level: 'warn', pretty: false, accessLog: false },
      services: {
        svc: {
          targets: [up.url],
          health: false,
          maxConnections: CAP,
          queue: { size: UPLOADERS, timeout: '20s' },
        },
      },
      routes: [{ prefix: '/svc', service: 'svc', auth: 'public' }],
    });
  });
  afterAll(async () => {
    await gw?.close();
    await up?.close();
  });

  it(`${UPLOADERS} uploads of 32 KiB at 5 KiB/s while GETs to the same service are answered`, async () => {
    const conns: RawConnection[] = [];
    for (let i = 0; i < UPLOADERS; i += 50) {
      conns.push(...(await Promise.all(Array.from({ length: 50 }, () => RawConnection.open(gw.port)))));
    }
    let sent = 0;
    const piece = Buffer.alloc(PIECE, 'u');
    await Promise.all(
      conns.map((c, i) =>
        c.write(head(`POST /svc/upload-${i} HTTP/1.1`, 'Host: gw.test', `Content-Length: ${BODY}`)),
      ),
    );
    const timer = setInterval(() => {
      for (const c of conns) if (!c.isClosed) c.socket.write(piece);
      sent += PIECE;
      if (sent >= BODY) clearInterval(timer);
    }, EVERY_MS);
    const latencies: number[] = [];
    try {
      const answers = Promise.all(conns.map((c) => c.responses(1)));
      let uploading = true;
      void answers.finally(() => {
        uploading = false;
      });
      while (uploading) {
        const started = performance.now();
        const r = await send(`${gw.url}/svc/ping`, { headers: { host: 'gw.test' } });
        latencies.push(performance.now() - started);
        expect(r.status).toBe(200);
      }
      const replies = await answers;
      expect(replies.map((r) => r[0]?.status)).toEqual(Array(UPLOADERS).fill(200));
    } finally {
      clearInterval(timer);
      for (const c of conns) c.destroy();
    }
    const uploads = up.seen.filter((r) => r.url.startsWith('/upload-'));
    expect(uploads).toHaveLength(UPLOADERS);
    expect(uploads.every((r) => r.bodyBytes === BODY)).toBe(true);
    expect(maxActive).toBeLessThanOrEqual(CAP);
    latencies.sort((a, b) => a - b);
    const p = (q: number) =>
      latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))]!.toFixed(1);
    console.log(
      `slow uploads: ${latencies.length} GETs during ${UPLOADERS} uploads, p50 ${p(0.5)} ms, p99 ${p(0.99)} ms, max ${p(1)} ms; upstream concurrency max ${maxActive}`,
    );
    expect(latencies.length).toBeGreaterThan(0);
  }, 60_000);
});
