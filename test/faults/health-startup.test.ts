import { createServer, type Server } from 'node:http';
import { createGateway, createLogger } from '@lucid/gateway-core';
import {
  freePort,
  logSink,
  type RunningGateway,
  send,
  startGateway,
  startUpstream,
  type Upstream,
} from '@lucid/test-kit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

/**
 * /health is never a guess: the first check round runs before the gateway is ready, a service with
 * no result is `unknown` (never healthy), services without a health path get a TCP-connect check,
 * and the top-level `health: { interval, timeout }` is the default for every service's checks.
 */

const LOG = { level: 'silent', pretty: false, accessLog: false } as const;
type Report = { status: string; services: Record<string, boolean | 'unknown'> };

describe('/health right after start', () => {
  let alive: Upstream;
  let hanging: Server;
  let hangingUrl: string;
  let deadUrl: string;
  let gw: RunningGateway;
  let healthHits = 0;
  let moreHits: (() => void) | undefined;
  beforeAll(async () => {
    alive = await startUpstream();
    alive.server.on('request', (req) => {
      if (req.url === '/health') {
        healthHits++;
        moreHits?.();
      }
    });
    // Accepts, never answers: only the check's timeout ends the probe.
    hanging = createServer(() => {});
    await new Promise<void>((resolve) => hanging.listen(0, '127.0.0.1', resolve));
    hangingUrl = `http://127.0.0.1:${(hanging.address() as { port: number }).port}`;
    deadUrl = `http://127.0.0.1:${await freePort()}`;
    gw = await startGateway({
      logging: LOG,
      health: { interval: '150ms', timeout: '300ms' },
      services: {
        alive: { targets: [alive.url] },
        dead: { targets: [deadUrl] },
        checked: { targets: [alive.url], health: '/health' },
        slow: { targets: [hangingUrl], health: '/health' },
        off: { targets: [alive.url], health: false },
      },
      routes: [{ prefix: '/alive', service: 'alive', auth: 'public' }],
    });
  });
  afterAll(async () => {
    await gw?.close();
    await alive?.close();
    hanging.closeAllConnections();
    await new Promise<void>((resolve) => hanging.close(() => resolve()));
  });

  it('reports each service as measured by the first round, before any request', async () => {
    const res = await send(`${gw.url}/health`);
    const report = res.json<Report>();
    expect(report.services).toEqual({
      alive: true, // TCP connect
      dead: false, // TCP connect refused: never "true" for 20 s
      checked: true, // HTTP GET /health
      slow: false, // timed out after the top-level 300ms
      off: 'unknown', // checks off: not measured, so not called healthy
    });
    expect(report.status).toBe('degraded');
    expect(res.status).toBe(200);
    expect((await send(`${gw.url}/health/ready`)).status).toBe(200);
  });

  it('runs checks at the top-level interval when a service sets none', async () => {
    const start = healthHits;
    await new Promise<void>((resolve) => {
      moreHits = () => {
        if (healthHits >= start + 3) resolve();
      };
    });
    moreHits = undefined;
    expect(healthHits).toBeGreaterThanOrEqual(start + 3);
  });
});

describe('a service with no result yet', () => {
  it('is unknown before the gateway started, and the whole is not healthy', async () => {
    const up = await startUpstream();
    const gateway = createGateway(
      { logging: LOG, services: { s: { targets: [up.url] } } },
      { logger: createLogger({ level: 'silent', pretty: false, accessLog: false }, logSink().stream) },
    );
    try {
      const before = await gateway.health();
      expect(before.services).toEqual({ s: 'unknown' });
      expect(before.status).not.toBe('healthy');
      await gateway.start();
      const after = await gateway.health();
      expect(after).toMatchObject({ status: 'healthy', services: { s: true } });
    } finally {
      await gateway.close({ graceMs: 100 });
      await up.close();
    }
  });

  it('makes the whole unhealthy (503) when every service is checked and down', async () => {
    const gw = await startGateway({
      logging: LOG,
      services: { a: { targets: [`http://127.0.0.1:${await freePort()}`] } },
    });
    try {
      const res = await send(`${gw.url}/health`);
      expect(res.status).toBe(503);
      expect(res.json()).toMatchObject({ status: 'unhealthy', services: { a: false } });
    } finally {
      await gw.close();
    }
  });
});
