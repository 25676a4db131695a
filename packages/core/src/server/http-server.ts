import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import type { ServerConfig } from '../config/schema.js';

export interface ServerHandlers {
  handler(req: IncomingMessage, res: ServerResponse): void;
  upgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void;
}

/**
 * A `node:http` server with the configured limits and timeouts, answering what Node's parser
 * refuses itself, and `Expect: 100-continue` through the gateway.
 */
export function createGatewayServer(cfg: ServerConfig, on: ServerHandlers): Server {
  const server = createServer(
    {
      maxHeaderSize: cfg.limits.headers,
      headersTimeout: cfg.timeouts.headers,
      requestTimeout: cfg.timeouts.request,
      // Node enforces the two timeouts above only on this tick (30 s by default): slow clients got 30 s more.
      connectionsCheckingInterval: Math.max(100, Math.min(1_000, cfg.timeouts.headers, cfg.timeouts.request)),
      keepAliveTimeout: cfg.timeouts.keepAlive,
      // Duplicate headers stay as Node joins them; the auth plugin checks rawHeaders where it matters.
      joinDuplicateHeaders: false,
      requireHostHeader: true,
    },
    on.handler,
  );
  server.on('upgrade', on.upgrade);
  // `Expect: 100-continue` is ours to answer: the proxy invites the body once the request may go on.
  server.on('checkContinue', on.handler);
  server.on('clientError', (err: NodeJS.ErrnoException, socket: Duplex) => rejectBadRequest(err, socket));
  return server;
}

/** Listens; rejects with the server's error (port in use, ...). */
export function listenOn(
  server: Server,
  port: number,
  host: string,
): Promise<{ port: number; host: string }> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      const addr = server.address() as { port: number; address: string };
      resolve({ port: addr.port, host: addr.address });
    });
  });
}

/**
 * Stops accepting, lets requests in flight finish for up to `graceMs`, then cuts what is left,
 * upgraded sockets included (they left the server's books but still hold it open).
 */
export async function drain(server: Server, graceMs: number, upgraded: Iterable<Duplex>): Promise<void> {
  const closed = new Promise<void>((resolve) => server.close(() => resolve()));
  server.closeIdleConnections();
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<void>((resolve) => {
    timer = setTimeout(resolve, graceMs);
    timer.unref();
  });
  await Promise.race([closed, deadline]);
  clearTimeout(timer);
  server.closeAllConnections();
  for (const socket of upgraded) socket.destroy();
  await closed;
}

/** Answers what Node's parser refused (bad syntax, headers too large, timeouts) and closes. */
function rejectBadRequest(err: NodeJS.ErrnoException, socket: Duplex): void {
  if (!socket.writable || (socket as Socket & { _httpMessage?: unknown })._httpMessage) {
    socket.destroy();
    return;
  }
  const status =
    err.code === 'HPE_HEADER_OVERFLOW'
      ? '431 Request Header Fields Too Large'
      : err.code === 'ERR_HTTP_REQUEST_TIMEOUT'
        ? '408 Request Timeout'
        : '400 Bad Request';
  socket.end(`HTTP/1.1 ${status}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
}
