import { createHash } from 'node:crypto';
import { once } from 'node:events';
import { readdirSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { createGateway, createLogger } from '@lucid/gateway-core';
import { logSink, send, startGateway } from '@lucid/test-kit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { statuses } from './support/expect.js';
import { RawConnection } from './support/raw.js';
import { HOST, type Stack, startStack } from './support/stack.js';

/** Silent sockets and connection floods: what Node's own header timeout does not cover. */

const openFds = () => readdirSync('/proc/self/fd').length;

async function refusedCount(stack: Stack): Promise<number> {
  const text = await stack.gateway.gateway.registry.metrics();
  const m = /lucid_gateway_connections_refused_total (\d+)/.exec(text);
  return Number(m?.[1] ?? Number.NaN);
}

/** Asks until answered: the server frees a closed connection's slot on its own time, not ours. */
async function sendUntilServed(url: string): Promise<number> {
  for (let i = 0; i < 200; i++) {
    try {
      return (await send(url, { headers: { host: HOST } })).status;
    } catch {}
  }
  throw new Error('never served');
}

describe('sockets that never send a byte', () => {
  let stack: Stack;
  beforeAll(async () => {
    stack = await startStack({ server: { timeouts: { headers: '1s', request: '2s', keepAlive: '1s' } } });
  });
  afterAll(async () => {
    await stack?.close();
  });

  it('closes silent connections within timeouts.headers when no other traffic flows', async () => {
    const conns = await Promise.all(Array.from({ length: 40 }, () => RawConnection.open(stack.port)));
    try {
      const replies = await Promise.all(conns.map((c) => c.untilClosed()));
      for (const r of replies) expect(r.responses.filter((x) => x.status !== 408)).toEqual([]);
    } finally {
      for (const c of conns) c.destroy();
    }
  });

  it('closes silent connections while other clients are served', async () => {
    const conns = await Promise.all(Array.from({ length: 40 }, () => RawConnection.open(stack.port)));
    let served = 0;
    let stop = false;
    const traffic = (async () => {
      while (!stop) {
        const r = await send(`${stack.url}/public/busy`, { headers: { host: HOST } });
        if (r.status === 200) served++;
      }
    })();
    try {
      await Promise.all(conns.map((c) => c.closed));
      expect(conns.every((c) => c.isClosed)).toBe(true);
    } finally {
      stop = true;
      await traffic;
      for (const c of conns) c.destroy();
    }
    expect(served).toBeGreaterThan(0);
  });

  it('closes a connection that sends part of a head and then nothing, forwarding nothing', async () => {
    const conn = await RawConnection.open(stack.port);
    await conn.write(`GET /public/half HTTP/1.1\r\nHost: ${HOST}\r\nX-Part`);
    const reply = await conn.untilClosed();
    expect(statuses(reply)).toEqual([408]);
    expect(stack.upstream.seen.filter((r) => r.url === '/public/half')).toEqual([]);
  });

  it('leaves a connection alone once its head arrived (the answer comes, keep-alive follows)', async () => {
    const conn = await RawConnection.open(stack.port);
    try {
      await conn.write(`GET /public/quick HTTP/1.1\r\nHost: ${HOST}\r\n\r\n`);
      const [res] = await conn.responses(1);
      expect(res?.status).toBe(200);
    } finally {
      conn.destroy();
    }
  });
});

describe('server.limits.connections', () => {
  const CAP = 30;
  const FLOOD = 600;
  let stack: Stack;
  beforeAll(async () => {
    // A long head timeout: every close seen here is the cap's, not the timeout's.
    stack = await startStack({
      server: {
        limits: { body: '64kb', headers: '8kb', connections: CAP },
        timeouts: { headers: '30s', request: '60s' },
      },
    });
  });
  afterAll(async () => {
    await stack?.close();
  });

  it('refuses a flood past the cap at accept, counts it, and serves normal clients after', async () => {
    const before = openFds();
    const held = await Promise.all(Array.from({ length: CAP }, () => RawConnection.open(stack.port)));
    // The held ones are in the server's books once one of them can be answered... or all CAP are.
    await held[0]!.write(`GET /public/held HTTP/1.1\r\nHost: ${HOST}\r\n\r\n`);
    await held[0]!.responses(1);
    const flood: RawConnection[] = [];
    try {
      for (let i = 0; i < FLOOD; i += 100) {
        const batch = await Promise.all(
          Array.from({ length: 100 }, () => RawConnection.open(stack.port).catch(() => undefined)),
        );
        for (const c of batch) if (c) flood.push(c);
      }
      await Promise.all(flood.map((c) => c.closed));
      // Every flood connection was closed by the gateway without an answer; the held ones stay open.
      expect(flood.every((c) => c.raw.length === 0)).toBe(true);
      expect(held.every((c) => !c.isClosed)).toBe(true);
      expect(await refusedCount(stack)).toBe(flood.length);
      // Client and server ends of the held ones, plus some slack: the flood left no descriptor behind.
      expect(openFds() - before).toBeLessThan(2 * CAP + 20);
    } finally {
      for (const c of [...held, ...flood]) c.destroy();
    }
    expect(await sendUntilServed(`${stack.url}/public/after-flood`)).toBe(200);
  });
});

describe('embedded: gateway.guard(server) on the host app’s own server', () => {
  let server: Server;
  let port: number;
  let gateway: ReturnType<typeof createGateway>;
  beforeAll(async () => {
    const sink = logSink();
    gateway = createGateway(
      {
        server: { timeouts: { headers: '1s', request: '2s' }, limits: { connections: 5 } },
        logging: { level: 'warn', pretty: false, accessLog: false },
      },
      { logger: createLogger({ level: 'warn', pretty: false, accessLog: false }, sink.stream) },
    );
    server = createServer(gateway.handler);
    gateway.guard(server);
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    port = (server.address() as { port: number }).port;
    await gateway.start();
  });
  afterAll(async () => {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
    await gateway.close({ graceMs: 100 });
  });

  it('closes a silent socket on the embedder’s server', async () => {
    const conn = await RawConnection.open(port);
    const reply = await conn.untilClosed();
    expect(reply.responses.filter((r) => r.status !== 408)).toEqual([]);
  });

  it('caps the embedder’s server connections too', async () => {
    const conns = await Promise.all(Array.from({ length: 8 }, () => RawConnection.open(port)));
    try {
      const closedFirst = await Promise.race(conns.slice(5).map((c) => c.closed.then(() => c)));
      expect(conns.slice(5)).toContain(closedFirst);
      await Promise.all(conns.slice(5).map((c) => c.closed));
      expect(conns.slice(0, 5).every((c) => !c.isClosed)).toBe(true);
    } finally {
      for (const c of conns) c.destroy();
    }
  });
});

describe('the guard and upgrades', () => {
  it('leaves a WebSocket handshake that takes longer than timeouts.headers alone once its head arrived', async () => {
    // An upstream that accepts the TCP connection and answers the handshake only when told to.
    const held: Array<() => void> = [];
    const sockets: Array<{ destroy(): void }> = [];
    const upstream = createServer();
    upstream.on('upgrade', (req, socket) => {
      sockets.push(socket);
      const accept = createHash('sha1')
        .update(`${req.headers['sec-websocket-key']}258EAFA5-E914-47DA-95CA-C5AB0DC85B11`)
        .digest('base64');
      held.push(() =>
        socket.write(
          `HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${accept}\r\n\r\n`,
        ),
      );
    });
    upstream.listen(0, '127.0.0.1');
    await once(upstream, 'listening');
    const stack = await startGateway(
      {
        server: { timeouts: { headers: '300ms', request: '2s' } },
        logging: { level: 'silent', pretty: false, accessLog: false },
        services: {
          ws: {
            targets: [`http://127.0.0.1:${(upstream.address() as { port: number }).port}`],
            health: false,
          },
        },
        routes: [{ prefix: '/ws', service: 'ws', auth: 'public' }],
      },
      [],
    );
    const conn = await RawConnection.open(stack.port);
    try {
      await conn.write(
        'GET /ws HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n',
      );
      while (held.length === 0)
        await new Promise<void>((resolve) => upstream.once('upgrade', () => resolve()));
      // A silent connection opened after ours: once the guard closed it, our timer (armed earlier) is due too.
      const silent = await RawConnection.open(stack.port);
      await silent.closed;
      expect((await send(`${stack.url}/health/live`)).status).toBe(200);
      expect(conn.raw.length).toBe(0);
      expect(conn.isClosed).toBe(false);
      held[0]!();
      await conn.responses(1);
      expect(conn.raw.toString('latin1')).toMatch(/^HTTP\/1\.1 101/);
    } finally {
      conn.destroy();
      await stack.close();
      // Upgraded sockets have left the server's books: they are ours to close.
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => upstream.close(() => resolve()));
    }
  });
});
