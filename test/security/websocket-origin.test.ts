import { createServer, type Server } from 'node:http';
import { type RunningGateway, startGateway } from '@lucid/test-kit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocket, WebSocketServer } from 'ws';

/**
 * RFC 6455 §10.2: a browser sends cookies on a WebSocket handshake and applies no CORS to it, so
 * the gateway checks Origin itself; a foreign Origin gets 403 and never reaches the upstream.
 */

const APP = 'https://app.lucid.dev';

interface WsUpstream {
  url: string;
  handshakes: number;
  close(): Promise<void>;
}

async function startWsUpstream(): Promise<WsUpstream> {
  const server: Server = createServer((_req, res) => res.end('plain'));
  const wss = new WebSocketServer({ server });
  const up: WsUpstream = {
    url: '',
    handshakes: 0,
    close: async () => {
      for (const ws of wss.clients) ws.terminate();
      await new Promise<void>((resolve) => wss.close(() => resolve()));
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
  wss.on('connection', (ws) => {
    up.handshakes++;
    ws.send('hello');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  up.url = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
  return up;
}

/** The handshake's status: 101 when joined (the socket is closed right after), else the refusal's. */
function handshake(url: string, headers: Record<string, string>): Promise<number> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, { headers });
    ws.once('open', () => {
      ws.close();
      resolve(101);
    });
    ws.once('unexpected-response', (_req, res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
      ws.terminate();
    });
    ws.once('error', (err) => reject(err));
  });
}

function config(upstream: string, server: Record<string, unknown>) {
  return {
    server: { allowedHosts: ['*'], ...server },
    logging: { level: 'silent', pretty: false, accessLog: false },
    services: { ws: { targets: [upstream], health: false } },
    routes: [
      { prefix: '/ws', service: 'ws', auth: 'public' },
      { prefix: '/open', service: 'ws', auth: 'public', websocket: { origins: ['*'] } },
      {
        prefix: '/partner',
        service: 'ws',
        auth: 'public',
        websocket: { origins: ['https://partner.example'] },
      },
    ],
  };
}

describe('WebSocket Origin check with server.cors.origins', () => {
  let upstream: WsUpstream;
  let gw: RunningGateway;
  let ws: string;
  beforeAll(async () => {
    upstream = await startWsUpstream();
    gw = await startGateway(config(upstream.url, { cors: { origins: [APP], credentials: true } }));
    ws = gw.url.replace('http:', 'ws:');
  });
  afterAll(async () => {
    await gw?.close();
    await upstream?.close();
  });

  it('tunnels a handshake from a listed origin', async () => {
    expect(await handshake(`${ws}/ws`, { origin: APP })).toBe(101);
  });

  it('refuses foreign, look-alike and opaque origins with 403, never reaching the upstream', async () => {
    const before = upstream.handshakes;
    for (const origin of [
      'https://evil.example',
      'https://app.lucid.dev.evil.example',
      'http://app.lucid.dev',
      'https://app.lucid.dev:8443',
      'null',
      'not a url',
    ]) {
      expect(await handshake(`${ws}/ws`, { origin }), origin).toBe(403);
    }
    expect(upstream.handshakes).toBe(before);
  });

  it('lets a client without Origin through (non-browser clients send none)', async () => {
    expect(await handshake(`${ws}/ws`, {})).toBe(101);
  });

  it('a route’s own websocket.origins replaces the CORS list', async () => {
    expect(await handshake(`${ws}/partner`, { origin: 'https://partner.example' })).toBe(101);
    expect(await handshake(`${ws}/partner`, { origin: APP })).toBe(403);
    expect(await handshake(`${ws}/open`, { origin: 'https://anyone.example' })).toBe(101);
  });
});

describe('WebSocket Origin check without an allow-list: same origin only', () => {
  let upstream: WsUpstream;
  let gw: RunningGateway;
  let ws: string;
  beforeAll(async () => {
    upstream = await startWsUpstream();
    gw = await startGateway(config(upstream.url, {}));
    ws = gw.url.replace('http:', 'ws:');
  });
  afterAll(async () => {
    await gw?.close();
    await upstream?.close();
  });

  it('tunnels a page served by the same host and refuses any other', async () => {
    const host = new URL(gw.url).host;
    expect(await handshake(`${ws}/ws`, { origin: `http://${host}` })).toBe(101);
    expect(await handshake(`${ws}/ws`, { origin: 'https://evil.example' })).toBe(403);
    expect(await handshake(`${ws}/ws`, { origin: `http://${host}.evil.example` })).toBe(403);
    expect(await handshake(`${ws}/ws`, {})).toBe(101);
  });
});

describe('config', () => {
  it('refuses a websocket.origins entry that is not an origin', async () => {
    await expect(
      startGateway({
        logging: { level: 'silent', pretty: false, accessLog: false },
        services: { ws: { targets: ['http://127.0.0.1:9'], health: false } },
        routes: [{ prefix: '/ws', service: 'ws', websocket: { origins: ['app.lucid.dev/path'] } }],
      }),
    ).rejects.toThrow(/routes\[0\]\.websocket\.origins\[0\]/);
  });
});
