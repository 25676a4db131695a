// One contract, four engines: every row of the table below runs against undici, http-proxy-3,
// node:http2 and the WebSocket tunnel, each driven directly (no gateway around it) between a real
// loopback client and a real loopback upstream. See engine-contract.ts for what the options mean.
import { createHash, randomBytes } from 'node:crypto';
import { once } from 'node:events';
import {
  createServer as createHttpServer,
  request as httpRequest,
  type IncomingHttpHeaders,
  type IncomingMessage,
  type Server,
  ServerResponse,
} from 'node:http';
import { createServer as createH2Server, type Http2Server, constants as h2constants } from 'node:http2';
import { connect, createServer as createNetServer, type Server as NetServer, type Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { validateConfig } from '../config/validate.js';
import { RequestContext } from '../context.js';
import { createLogger } from '../observability/logger.js';
import type { OutgoingRequest, ProxyEngine, Target } from '../types.js';
import { targetFromUrl } from '../upstream/pool.js';
import { upstreamRequestHeaders } from './headers.js';
import { HttpProxyEngine } from './http-proxy-engine.js';
import { Http2Engine } from './http2-engine.js';
import { UndiciEngine } from './undici-engine.js';
import { classifyUpstreamError, errorCode } from './upstream-error.js';
import { WebSocketTunnel } from './websocket-tunnel.js';

const logger = createLogger({ level: 'silent', pretty: false, accessLog: false });
const GUID = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11';
const acceptFor = (key: string) =>
  createHash('sha1')
    .update(key + GUID)
    .digest('base64');

/** Per-exchange options, as the caller of an engine gives them. */
interface Options {
  timeout?: number;
  deadline?: number;
  fresh?: boolean;
}

/** What the engine said about one exchange: its result, or the code it rejected with. */
type Outcome = { status: number } | { code: string | undefined; kind: string };

/** What the client saw. `complete`: the answer ended cleanly (not cut). */
interface Seen {
  status: number;
  headers: IncomingHttpHeaders;
  body: string;
  complete: boolean;
}

/** An upstream's view of one exchange. */
interface UpstreamExchange {
  path: string;
  /** The engine's connection, by its local port. */
  port: number;
  /** Resolves when the upstream's side of the exchange is gone (answered, aborted or cut). */
  closed: Promise<void>;
}

interface Harness {
  name: string;
  /** The client sends one exchange for `path` and reads the answer whole (or until it is cut). */
  exchange(path: string, opts?: Options, body?: { first: Buffer; rest: Buffer }): Promise<Seen>;
  /** Starts an exchange and lets the client leave once the upstream has it. */
  leave(path: string): Promise<void>;
  outcomes: Outcome[];
  upstream: UpstreamExchange[];
  close(): Promise<void>;
}

// ——— the upstreams: the same behaviours by path, over HTTP/1.1, HTTP/2 and raw WebSocket ———

/** HTTP behaviours: `/hello`, `/silent` (never answers), `/stall` (a head and a part, then nothing), `/reset`, `/echo`. */
function httpBehaviour(h2: boolean) {
  const exchanges: UpstreamExchange[] = [];
  const handler = (req: IncomingMessage, res: ServerResponse) => {
    const closed = new Promise<void>((resolve) => res.once('close', () => resolve()));
    exchanges.push({ path: req.url ?? '', port: req.socket.remotePort ?? 0, closed });
    req.on('error', () => {});
    res.on('error', () => {});
    switch (req.url) {
      case '/hello': {
        const headers: Record<string, string> = { 'x-kept': 'yes', 'proxy-authenticate': 'Basic' };
        // HTTP/2 has no connection-specific fields (RFC 9113 §8.2.2); HTTP/1.1 names one in Connection.
        if (!h2)
          Object.assign(headers, { connection: 'x-hop', 'x-hop': 'secret', 'keep-alive': 'timeout=5' });
        res.writeHead(200, headers);
        res.end('hello');
        return;
      }
      case '/silent':
        req.resume();
        return;
      case '/stall':
        res.writeHead(200, { 'content-length': '100' });
        res.write('part');
        return;
      case '/reset':
        res.writeHead(200, { 'content-length': '100' });
        res.write('part', () => {
          if (h2)
            (res as unknown as { stream: { close(code: number): void } }).stream.close(
              h2constants.NGHTTP2_INTERNAL_ERROR,
            );
          else req.socket.destroy();
        });
        return;
      case '/echo':
        res.writeHead(200);
        req.pipe(res);
        return;
      default:
        res.writeHead(404).end();
    }
  };
  return { exchanges, handler };
}

/**
 * A raw WebSocket upstream with the same behaviours: `/hello` accepts (with hop-by-hop headers of its
 * own), `/silent` never answers, `/reset` accepts then cuts, `/echo` accepts and echoes every byte.
 */
function wsBehaviour() {
  const exchanges: UpstreamExchange[] = [];
  const onSocket = (socket: Socket) => {
    socket.on('error', () => {});
    const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
    let buffered = Buffer.alloc(0);
    const onData = (chunk: Buffer) => {
      buffered = Buffer.concat([buffered, chunk]);
      const end = buffered.indexOf('\r\n\r\n');
      if (end === -1) return;
      socket.off('data', onData);
      const head = buffered.subarray(0, end).toString('latin1');
      const rest = buffered.subarray(end + 4);
      const path = /^GET (\S+)/.exec(head)?.[1] ?? '';
      const key = /^sec-websocket-key:\s*(.+)$/im.exec(head)?.[1]?.trim() ?? '';
      exchanges.push({ path, port: socket.remotePort ?? 0, closed });
      const accept = (extra = '') =>
        socket.write(
          `HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade, x-hop\r\nx-hop: secret\r\nkeep-alive: timeout=5\r\nproxy-authenticate: Basic\r\nx-kept: yes\r\nSec-WebSocket-Accept: ${acceptFor(key)}\r\n${extra}\r\n`,
        );
      switch (path) {
        case '/hello':
          accept();
          socket.end('hello');
          return;
        case '/silent':
          return;
        case '/reset':
          accept();
          socket.write('part', () => socket.resetAndDestroy());
          return;
        case '/echo':
          accept();
          if (rest.length > 0) socket.write(rest);
          socket.pipe(socket);
          return;
        default:
          socket.end('HTTP/1.1 404 Not Found\r\ncontent-length: 0\r\n\r\n');
      }
    };
    socket.on('data', onData);
  };
  return { exchanges, onSocket };
}

// ——— the harnesses: a loopback "gateway" that hands each request to one engine ———

async function listen(server: Server | Http2Server | NetServer): Promise<number> {
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return (server.address() as { port: number }).port;
}

const closeServer = (server: Server | Http2Server | NetServer) =>
  new Promise<void>((resolve) => server.close(() => resolve()));

function contextFor(req: IncomingMessage, res: ServerResponse): RequestContext {
  const forwarded = {
    ip: '127.0.0.1',
    protocol: 'http' as const,
    host: req.headers.host,
    forwardedFor: '127.0.0.1',
  };
  return new RequestContext(
    req,
    res,
    'conformance',
    '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01',
    forwarded,
    logger,
  );
}

function outgoingFor(ctx: RequestContext, target: Target, opts: Options): OutgoingRequest {
  return {
    path: ctx.req.url ?? '/',
    headers: upstreamRequestHeaders(ctx, target, false),
    timeout: opts.timeout ?? 10_000,
    transport: { key: 'conformance', connectTimeout: 5_000, idleTimeout: 60_000 },
    ...(opts.fresh !== undefined && { fresh: opts.fresh }),
    ...(opts.deadline !== undefined && { deadline: opts.deadline }),
  };
}

const describeOutcome = (err: unknown): Outcome => ({
  code: errorCode(err),
  kind: classifyUpstreamError(err),
});

/** An HTTP engine between a node:http client and an HTTP/1.1 or HTTP/2 upstream. */
async function httpHarness(name: string, engine: ProxyEngine, h2: boolean): Promise<Harness> {
  const behaviour = httpBehaviour(h2);
  const upstreamServer = h2
    ? createH2Server(behaviour.handler as never)
    : createHttpServer(behaviour.handler);
  const upstreamPort = await listen(upstreamServer);
  const target = targetFromUrl(`${h2 ? 'h2c' : 'http'}://127.0.0.1:${upstreamPort}`);
  const outcomes: Outcome[] = [];
  const gateway = createHttpServer((req, res) => {
    const opts = JSON.parse(String(req.headers['x-test-options'] ?? '{}')) as Options;
    delete req.headers['x-test-options'];
    const ctx = contextFor(req, res);
    engine.forward(ctx, target, outgoingFor(ctx, target, opts)).then(
      (r) => outcomes.push({ status: r.status }),
      (err) => {
        outcomes.push(describeOutcome(err));
        if (!res.headersSent) res.writeHead(502).end();
        else res.destroy();
      },
    );
  });
  const port = await listen(gateway);

  const exchange = (path: string, opts: Options = {}, body?: { first: Buffer; rest: Buffer }) =>
    new Promise<Seen>((resolve, reject) => {
      const req = httpRequest({
        host: '127.0.0.1',
        port,
        path,
        method: body ? 'POST' : 'GET',
        agent: false,
        headers: { 'x-test-options': JSON.stringify(opts) },
      });
      req.on('error', reject);
      req.on('response', (res) => {
        const chunks: Buffer[] = [];
        let wroteRest = false;
        res.on('data', (c: Buffer) => {
          chunks.push(c);
          // Streamed both ways: the rest of the body goes only once the echo of its first part came back.
          if (body && !wroteRest && Buffer.concat(chunks).length >= body.first.length) {
            wroteRest = true;
            req.end(body.rest);
          }
        });
        res.on('error', () => {});
        res.on('close', () =>
          resolve({
            status: res.statusCode ?? 0,
            headers: res.headers,
            body: Buffer.concat(chunks).toString('latin1'),
            complete: res.complete,
          }),
        );
      });
      if (body) {
        req.flushHeaders();
        req.write(body.first);
      } else req.end();
    });

  const leave = async (path: string) => {
    const before = behaviour.exchanges.length;
    const req = httpRequest({ host: '127.0.0.1', port, path, agent: false });
    req.on('error', () => {});
    req.end();
    await until(() => behaviour.exchanges.length > before);
    req.destroy();
  };

  return {
    name,
    exchange,
    leave,
    outcomes,
    upstream: behaviour.exchanges,
    close: async () => {
      gateway.closeAllConnections();
      await closeServer(gateway);
      await engine.close();
      if ('closeAllConnections' in upstreamServer) upstreamServer.closeAllConnections();
      await closeServer(upstreamServer);
    },
  };
}

/** The WebSocket tunnel between a raw-socket client and a raw WebSocket upstream. */
async function tunnelHarness(): Promise<Harness> {
  const behaviour = wsBehaviour();
  const upstreamSockets = new Set<Socket>();
  const upstreamServer = createNetServer((s) => {
    upstreamSockets.add(s);
    s.once('close', () => upstreamSockets.delete(s));
    behaviour.onSocket(s);
  });
  const target = targetFromUrl(`http://127.0.0.1:${await listen(upstreamServer)}`);
  const tunnel = new WebSocketTunnel();
  const outcomes: Outcome[] = [];
  const gateway = createHttpServer();
  gateway.on('upgrade', (req: IncomingMessage, socket: Socket, head: Buffer) => {
    const opts = JSON.parse(String(req.headers['x-test-options'] ?? '{}')) as Options;
    delete req.headers['x-test-options'];
    const res = new ServerResponse(req);
    res.assignSocket(socket);
    const ctx = contextFor(req, res);
    tunnel.open(ctx, socket, head, target, outgoingFor(ctx, target, opts)).then(
      (r) => outcomes.push({ status: r.status }),
      (err) => {
        outcomes.push(describeOutcome(err));
        socket.end('HTTP/1.1 502 Bad Gateway\r\ncontent-length: 0\r\nconnection: close\r\n\r\n');
      },
    );
  });
  const port = await listen(gateway);

  const open = (path: string, opts: Options) => {
    const socket = connect(port, '127.0.0.1');
    socket.on('error', () => {});
    const key = randomBytes(16).toString('base64');
    socket.write(
      `GET ${path} HTTP/1.1\r\nHost: gateway\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: ${key}\r\nx-test-options: ${JSON.stringify(opts)}\r\n\r\n`,
    );
    return socket;
  };

  const exchange = (path: string, opts: Options = {}, body?: { first: Buffer; rest: Buffer }) =>
    new Promise<Seen>((resolve) => {
      const socket = open(path, opts);
      let raw = Buffer.alloc(0);
      let headEnd = -1;
      let wroteRest = false;
      let cut = false;
      socket.on('error', () => {
        cut = true;
      });
      socket.on('data', (c: Buffer) => {
        raw = Buffer.concat([raw, c]);
        if (headEnd === -1) {
          headEnd = raw.indexOf('\r\n\r\n');
          if (headEnd !== -1 && body) socket.write(body.first);
        }
        if (body && headEnd !== -1 && !wroteRest && raw.length - headEnd - 4 >= body.first.length) {
          wroteRest = true;
          socket.end(body.rest);
        }
      });
      socket.once('close', (hadError) => {
        const text = raw.toString('latin1');
        const end = text.indexOf('\r\n\r\n');
        const headLines = (end === -1 ? text : text.slice(0, end)).split('\r\n');
        const headers: IncomingHttpHeaders = {};
        for (const line of headLines.slice(1)) {
          const i = line.indexOf(':');
          if (i > 0) headers[line.slice(0, i).trim().toLowerCase()] = line.slice(i + 1).trim();
        }
        resolve({
          status: Number(/^HTTP\/1\.1 (\d{3})/.exec(text)?.[1] ?? 0),
          headers,
          body: end === -1 ? '' : text.slice(end + 4),
          // A tunnel's bytes have no framing of their own: it ended cleanly when its socket did.
          complete: !cut && !hadError,
        });
      });
    });

  const leave = async (path: string) => {
    const before = behaviour.exchanges.length;
    const socket = open(path, {});
    await until(() => behaviour.exchanges.length > before);
    socket.destroy();
  };

  return {
    name: 'tunnel',
    exchange,
    leave,
    outcomes,
    upstream: behaviour.exchanges,
    close: async () => {
      tunnel.close();
      gateway.closeAllConnections();
      await closeServer(gateway);
      for (const s of upstreamSockets) s.destroy();
      await closeServer(upstreamServer);
    },
  };
}

/** Waits for a condition the harness's own events make true (checked on each turn of the loop). */
async function until(check: () => boolean): Promise<void> {
  while (!check()) await new Promise((resolve) => setImmediate(resolve));
}

// ——— the table ———

const ENGINES: Array<[string, () => Promise<Harness>]> = [
  ['undici', () => httpHarness('undici', new UndiciEngine(), false)],
  ['http-proxy', () => httpHarness('http-proxy', new HttpProxyEngine(), false)],
  ['http2', () => httpHarness('http2', new Http2Engine(), true)],
  ['tunnel', tunnelHarness],
];

const last = <T>(list: T[]): T => list[list.length - 1]!;

describe.each(ENGINES)('the engine contract: %s', (name, make) => {
  let h: Harness;
  beforeAll(async () => {
    h = await make();
  });
  afterAll(() => h.close());

  it('relays the answer, without hop-by-hop headers', async () => {
    const before = h.outcomes.length;
    const seen = await h.exchange('/hello');
    await until(() => h.outcomes.length > before);
    expect(seen.status).toBe(name === 'tunnel' ? 101 : 200);
    expect(seen.body).toBe('hello');
    expect(seen.complete).toBe(true);
    expect(seen.headers['x-kept']).toBe('yes');
    for (const hop of ['x-hop', 'keep-alive', 'proxy-authenticate'])
      expect(seen.headers[hop]).toBeUndefined();
    expect(last(h.outcomes)).toEqual({ status: name === 'tunnel' ? 101 : 200 });
  });

  it('timeout: no answer head in time is a timeout, and the upstream exchange is cancelled', async () => {
    const seen = await h.exchange('/silent', { timeout: 100 });
    expect(seen.status).toBe(502);
    expect(last(h.outcomes)).toMatchObject({ kind: 'timeout' });
    await last(h.upstream).closed;
  });

  it('deadline: the whole exchange must be over in time, whatever the head timeout', async () => {
    const seen = await h.exchange('/silent', { timeout: 60_000, deadline: 100 });
    expect(seen.status).toBe(502);
    expect(last(h.outcomes)).toEqual({ code: 'LUCID_UPSTREAM_DEADLINE', kind: 'timeout' });
    await last(h.upstream).closed;
  });

  it.skipIf(name === 'tunnel')(
    'deadline mid-body: the started answer is cut, never ended as complete',
    async () => {
      const seen = await h.exchange('/stall', { timeout: 60_000, deadline: 100 });
      expect(seen.status).toBe(200);
      expect(seen.complete).toBe(false);
      expect(last(h.outcomes)).toEqual({ code: 'LUCID_UPSTREAM_DEADLINE', kind: 'timeout' });
      await last(h.upstream).closed;
    },
  );

  it('fresh: a new connection when asked, the pooled one otherwise', async () => {
    await h.exchange('/hello');
    const pooled = last(h.upstream).port;
    await h.exchange('/hello');
    const again = last(h.upstream).port;
    await h.exchange('/hello', { fresh: true });
    const fresh = last(h.upstream).port;
    // A tunnel owns its connection for life: every handshake is on a new one.
    if (name === 'tunnel') expect(new Set([pooled, again, fresh]).size).toBe(3);
    else expect(again).toBe(pooled);
    expect(fresh).not.toBe(pooled);
    expect(fresh).not.toBe(again);
  });

  it('a client that leaves cancels the upstream exchange', async () => {
    const before = h.outcomes.length;
    await h.leave('/silent');
    await last(h.upstream).closed;
    await until(() => h.outcomes.length > before);
    // Rejected as the client's doing (never counted against the target), or a tunnel's "client left" (0).
    expect([{ code: 'LUCID_CLIENT_ABORTED', kind: 'error' }, { status: 0 }]).toContainEqual(last(h.outcomes));
  });

  it('an upstream reset mid-answer cuts the client, never an answer that looks complete', async () => {
    const seen = await h.exchange('/reset');
    expect(seen.status).toBe(name === 'tunnel' ? 101 : 200);
    expect(seen.complete).toBe(false);
  });

  it('bodies stream both ways: the echo of the first part arrives before the rest is sent', async () => {
    const first = randomBytes(64 * 1024);
    const rest = randomBytes(256 * 1024);
    const seen = await h.exchange('/echo', {}, { first, rest });
    expect(seen.complete).toBe(true);
    const sent = Buffer.concat([first, rest]);
    expect(createHash('sha256').update(Buffer.from(seen.body, 'latin1')).digest('hex')).toBe(
      createHash('sha256').update(sent).digest('hex'),
    );
  });
});

describe('the config refuses a value the engines could not all honour', () => {
  it.each([
    [{ services: { api: { targets: ['http://127.0.0.1:1'], timeout: 0 } } }, 'services.api.timeout'],
    [
      { services: { api: { targets: ['http://127.0.0.1:1'], timeouts: { connect: '0s' } } } },
      'services.api.timeouts.connect',
    ],
    [
      { services: { api: { targets: ['http://127.0.0.1:1'], timeouts: { idle: 0 } } } },
      'services.api.timeouts.idle',
    ],
    [
      {
        services: { api: { targets: ['http://127.0.0.1:1'] } },
        routes: [{ prefix: '/a', service: 'api', auth: 'public', timeout: '0ms' }],
      },
      'routes[0].timeout',
    ],
  ])('%j: 0 is refused, naming %s', (input, path) => {
    const { issues } = validateConfig(input);
    expect(issues.map((i) => i.path)).toContain(path);
    expect(issues.find((i) => i.path === path)?.message).toMatch(/more than 0/);
  });
});
