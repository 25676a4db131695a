import { once } from 'node:events';
import { createServer, type IncomingHttpHeaders, type IncomingMessage, type Server } from 'node:http';
import { connect } from 'node:net';
import { GatewayError, type GatewayPlugin } from '@lucid/gateway-core';
import { freePort, type RunningGateway, startGateway } from '@lucid/test-kit';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { WebSocket, WebSocketServer } from 'ws';

const ENGINES = ['undici', 'http-proxy'] as const;

/** Open TCP sockets in this process (client, gateway and upstream sides alike); none between tests. */
const openSockets = () => process.getActiveResourcesInfo().filter((r) => r === 'TCPSocketWrap').length;

interface WsUpstream {
  url: string;
  port: number;
  wss: WebSocketServer;
  /** Headers of every handshake that reached the upstream. */
  handshakes: IncomingHttpHeaders[];
  /** The upstream side of each joined WebSocket, in order. */
  peers: WebSocket[];
  close(): Promise<void>;
}

/** A real WebSocket server: greets, echoes text as `echo:<text>` and binary as is. */
async function startWsUpstream(verify?: (req: IncomingMessage) => number | undefined): Promise<WsUpstream> {
  const server: Server = createServer((_req, res) => res.end('plain http'));
  const handshakes: IncomingHttpHeaders[] = [];
  const peers: WebSocket[] = [];
  const wss = new WebSocketServer({
    server,
    handleProtocols: (protocols) => (protocols.has('chat') ? 'chat' : false),
    verifyClient: (info, done) => {
      handshakes.push(info.req.headers);
      const refuse = verify?.(info.req);
      if (refuse) done(false, refuse, 'refused by upstream');
      else done(true);
    },
  });
  wss.on('connection', (ws) => {
    peers.push(ws);
    ws.send('welcome');
    ws.on('message', (data, binary) => ws.send(binary ? data : `echo:${data.toString()}`, { binary }));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    wss,
    handshakes,
    peers,
    close: async () => {
      for (const ws of wss.clients) ws.terminate();
      await new Promise<void>((resolve) => wss.close(() => resolve()));
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** Stands in for the JWT plugin: a route's chain refuses without `x-test-user`, and forwards who it is. */
const testAuth: GatewayPlugin = {
  name: 'test-auth',
  order: 100,
  middleware: (route) =>
    route.kind === 'proxy' && route.config.auth === 'required'
      ? async function testAuth(ctx, next) {
          const user = ctx.req.headers['x-test-user'];
          if (typeof user !== 'string') {
            throw new GatewayError('GW_UNAUTHORIZED', { headers: { 'www-authenticate': 'Test' } });
          }
          ctx.upstreamHeaders['x-user'] = user;
          await next();
        }
      : undefined,
};

/** Stands in for the rate-limit plugin: two handshakes per user, then 429 (runs after auth). */
function testRateLimit(seen: string[]): GatewayPlugin {
  const counts = new Map<string, number>();
  return {
    name: 'test-rate-limit',
    order: 200,
    middleware: () =>
      async function testRateLimit(ctx, next) {
        const user = String(ctx.req.headers['x-test-user']);
        seen.push(user);
        const n = (counts.get(user) ?? 0) + 1;
        counts.set(user, n);
        if (ctx.req.headers['x-limited'] && n > 2) throw new GatewayError('GW_RATE_LIMITED');
        await next();
      },
  };
}

/** Messages each client received and nobody has taken yet (a greeting can arrive with the 101). */
const inbox = new WeakMap<
  WebSocket,
  { queue: Array<string | Buffer>; waiting: Array<(m: string | Buffer) => void> }
>();

/** What a client saw: an open socket, or the HTTP answer that refused the upgrade. */
function dial(
  url: string,
  headers: Record<string, string> = {},
  protocols: string[] = [],
): Promise<{ ws: WebSocket; refused?: { status: number; headers: IncomingHttpHeaders; body: string } }> {
  const ws = new WebSocket(url, protocols, { headers });
  const box = { queue: [] as Array<string | Buffer>, waiting: [] as Array<(m: string | Buffer) => void> };
  inbox.set(ws, box);
  ws.on('message', (data: Buffer, binary: boolean) => {
    const message = binary ? data : data.toString();
    const waiter = box.waiting.shift();
    if (waiter) waiter(message);
    else box.queue.push(message);
  });
  return new Promise((resolve, reject) => {
    ws.once('open', () => resolve({ ws }));
    ws.once('unexpected-response', (_req, res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => {
        body += c;
      });
      res.on('end', () => {
        resolve({ ws, refused: { status: res.statusCode ?? 0, headers: res.headers, body } });
        ws.terminate();
      });
    });
    ws.once('error', reject);
  });
}

function nextMessage(ws: WebSocket): Promise<string | Buffer> {
  const box = inbox.get(ws)!;
  const queued = box.queue.shift();
  if (queued !== undefined) return Promise.resolve(queued);
  return new Promise((resolve) => box.waiting.push(resolve));
}
const closed = (ws: WebSocket) =>
  ws.readyState === WebSocket.CLOSED
    ? Promise.resolve({ code: -1, reason: '' })
    : once(ws, 'close').then(([code, reason]) => ({ code: code as number, reason: String(reason) }));

describe.each(ENGINES)('WebSocket proxying (%s engine)', (engine) => {
  let up: WsUpstream;
  let gw: RunningGateway;
  let rateLimited: string[];
  const clients: WebSocket[] = [];
  const url = (path: string) => `${gw.url.replace('http', 'ws')}${path}`;
  const connectAs = async (path: string, user = 'alice', extra: Record<string, string> = {}) => {
    const { ws, refused } = await dial(url(path), { 'x-test-user': user, ...extra }, ['chat']);
    clients.push(ws);
    expect(refused).toBeUndefined();
    expect(await nextMessage(ws)).toBe('welcome');
    return ws;
  };

  beforeEach(async () => {
    await expect.poll(openSockets).toBe(0);
    rateLimited = [];
    up = await startWsUpstream((req) => (req.url?.startsWith('/forbidden') ? 403 : undefined));
    gw = await startGateway(
      {
        server: { engine },
        services: { live: { targets: [up.url] } },
        routes: [
          { prefix: '/live', service: 'live' },
          { prefix: '/open', service: 'live', auth: 'public' },
          { prefix: '/no-ws', service: 'live', websocket: false },
        ],
      },
      [testRateLimit(rateLimited), testAuth],
    );
  });

  afterEach(async () => {
    for (const ws of clients.splice(0)) ws.terminate();
    await gw.close();
    await up.close();
  });

  it('carries messages both ways through an authenticated route', async () => {
    const ws = await connectAs('/live/feed?room=1');
    expect(ws.protocol).toBe('chat');
    ws.send('ping');
    expect(await nextMessage(ws)).toBe('echo:ping');
    const big = Buffer.alloc(1024 * 1024, 7);
    ws.send(big);
    expect(Buffer.compare((await nextMessage(ws)) as Buffer, big)).toBe(0);
    up.peers[0]!.send('pushed by the upstream');
    expect(await nextMessage(ws)).toBe('pushed by the upstream');

    const seen = up.handshakes[0]!;
    expect(seen['x-user']).toBe('alice'); // set by the route's chain
    expect(seen['x-request-id']).toBeTruthy();
    expect(seen['x-forwarded-for']).toBe('127.0.0.1');
    expect(seen.host).toBe(`127.0.0.1:${up.port}`);
    expect(rateLimited).toEqual(['alice']);
  });

  it('forwards the normalized, prefix-stripped path and the query', async () => {
    let path = '';
    up.wss.once('headers', (_headers, req) => {
      path = req.url ?? '';
    });
    await connectAs('/live/a/../rooms/7?x=1');
    expect(path).toBe('/rooms/7?x=1');
  });

  it('refuses an unauthenticated handshake with 401 before anything reaches the upstream', async () => {
    const { refused } = await dial(url('/live/feed'));
    expect(refused?.status).toBe(401);
    expect(refused?.headers['content-type']).toBe('application/problem+json');
    expect(refused?.headers['www-authenticate']).toBe('Test');
    expect(JSON.parse(refused!.body)).toMatchObject({ code: 'GW_UNAUTHORIZED' });
    expect(up.handshakes).toEqual([]);
    expect(rateLimited).toEqual([]); // auth runs first
    await expect.poll(openSockets).toBe(0);
  });

  it('runs the rate-limit chain on handshakes', async () => {
    await connectAs('/live/a', 'bob', { 'x-limited': '1' });
    await connectAs('/live/a', 'bob', { 'x-limited': '1' });
    const { refused } = await dial(url('/live/a'), { 'x-test-user': 'bob', 'x-limited': '1' });
    expect(refused?.status).toBe(429);
    expect(up.handshakes.length).toBe(2);
  });

  it('answers 404 where no route (or no WebSocket route) matches', async () => {
    expect((await dial(url('/nowhere'), { 'x-test-user': 'alice' })).refused?.status).toBe(404);
    expect((await dial(url('/no-ws/x'), { 'x-test-user': 'alice' })).refused?.status).toBe(404);
    expect(up.handshakes).toEqual([]);
  });

  it('relays a non-101 answer as a normal response and joins nothing', async () => {
    const { refused } = await dial(url('/open/forbidden'));
    expect(refused?.status).toBe(403);
    expect(refused?.body).toBe('refused by upstream');
    expect(refused?.headers['x-request-id']).toBeTruthy();
    expect(up.peers).toEqual([]);
  });

  it('answers 503 when the upstream cannot be reached', async () => {
    const port = await freePort();
    await gw.gateway.reload({
      server: { engine },
      services: { live: { targets: [`http://127.0.0.1:${port}`], retry: { attempts: 0 } } },
      routes: [{ prefix: '/live', service: 'live', auth: 'public' }],
    });
    const { refused } = await dial(url('/live/x'));
    expect(refused?.status).toBe(503);
    expect(JSON.parse(refused!.body)).toMatchObject({ code: 'GW_UPSTREAM_UNAVAILABLE' });
  });

  it('refuses upgrades to anything but WebSocket (no h2c tunnels)', async () => {
    const socket = connect(gw.port, '127.0.0.1');
    await once(socket, 'connect');
    socket.write(
      'GET /open/x HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: Upgrade, HTTP2-Settings\r\nUpgrade: h2c\r\nHTTP2-Settings: AAMAAABkAAQCAAAAAAIAAAAA\r\n\r\n',
    );
    let answer = '';
    socket.setEncoding('utf8');
    socket.on('data', (c: string) => {
      answer += c;
    });
    await once(socket, 'close');
    expect(answer).toMatch(/^HTTP\/1\.1 400 /);
    expect(up.handshakes).toEqual([]);
  });

  describe('closing', () => {
    it('passes a clean close from the client to the upstream, and leaves no socket open', async () => {
      const ws = await connectAs('/live/x');
      const peer = up.peers[0]!;
      const upstreamSaw = closed(peer);
      ws.close(1000, 'bye');
      expect(await upstreamSaw).toEqual({ code: 1000, reason: 'bye' });
      expect((await closed(ws)).code).toBe(1000);
      await expect.poll(openSockets).toBe(0);
    });

    it('passes a clean close from the upstream to the client, and leaves no socket open', async () => {
      const ws = await connectAs('/live/x');
      const clientSaw = closed(ws);
      up.peers[0]!.close(4001, 'done');
      expect(await clientSaw).toEqual({ code: 4001, reason: 'done' });
      await expect.poll(openSockets).toBe(0);
    });

    it('closes the client when the upstream vanishes', async () => {
      const ws = await connectAs('/live/x');
      const clientSaw = closed(ws);
      up.peers[0]!.terminate();
      expect((await clientSaw).code).toBe(1006);
      await expect.poll(openSockets).toBe(0);
    });

    it('closes the upstream when the client vanishes', async () => {
      const ws = await connectAs('/live/x');
      const upstreamSaw = closed(up.peers[0]!);
      ws.terminate();
      expect((await upstreamSaw).code).toBe(1006);
      await expect.poll(openSockets).toBe(0);
    });

    it('closes open tunnels when the gateway closes', async () => {
      const ws = await connectAs('/live/x');
      const [clientSaw, upstreamSaw] = [closed(ws), closed(up.peers[0]!)];
      await gw.close();
      expect((await clientSaw).code).toBe(1006);
      expect((await upstreamSaw).code).toBe(1006);
      await expect.poll(openSockets).toBe(0);
    });

    it('carries many tunnels at once and closes each with its own pair', async () => {
      const sockets = await Promise.all(Array.from({ length: 20 }, (_, i) => connectAs(`/live/${i}`)));
      await Promise.all(
        sockets.map(async (ws, i) => {
          ws.send(`n${i}`);
          expect(await nextMessage(ws)).toBe(`echo:n${i}`);
        }),
      );
      await Promise.all(
        sockets.map((ws) => {
          ws.close(1000);
          return closed(ws);
        }),
      );
      await expect.poll(() => up.wss.clients.size).toBe(0);
      await expect.poll(openSockets).toBe(0);
    });
  });
});
