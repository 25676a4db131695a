import { createHash } from 'node:crypto';
import {
  createServer,
  type IncomingHttpHeaders,
  type IncomingMessage,
  type Server,
  type ServerResponse,
} from 'node:http';
import type { Socket } from 'node:net';

export interface SeenRequest {
  method: string;
  url: string;
  headers: IncomingHttpHeaders;
  rawHeaders: string[];
  bodyBytes: number;
  bodySha256: string;
}

export interface Upstream {
  url: string;
  port: number;
  server: Server;
  /** Every request this upstream received, in order. */
  seen: SeenRequest[];
  /** Connections open to it now. */
  connections(): number;
  /** Resolves once no connection is open to it (at once when none is). */
  untilNoConnections(): Promise<void>;
  close(): Promise<void>;
}

type Handler = (req: IncomingMessage, res: ServerResponse, seen: SeenRequest) => void;

/** Echoes what it received as JSON: method, url, headers, body size and sha256. */
export const echo: Handler = (_req, res, seen) => {
  const body = JSON.stringify(seen);
  res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
  res.end(body);
};

/**
 * A real loopback HTTP server on port 0. The handler runs once the whole body has been read
 * (unless `streaming` is set, in which case it runs at once and owns the body).
 */
export async function startUpstream(
  handler: Handler = echo,
  opts: { streaming?: boolean; keepAliveTimeout?: number } = {},
): Promise<Upstream> {
  const seen: SeenRequest[] = [];
  const sockets = new Set<Socket>();
  const server = createServer((req, res) => {
    const record: SeenRequest = {
      method: req.method ?? '',
      url: req.url ?? '',
      headers: req.headers,
      rawHeaders: req.rawHeaders,
      bodyBytes: 0,
      bodySha256: '',
    };
    seen.push(record);
    if (opts.streaming) return handler(req, res, record);
    const hash = createHash('sha256');
    req.on('data', (chunk: Buffer) => {
      record.bodyBytes += chunk.length;
      hash.update(chunk);
    });
    req.on('end', () => {
      record.bodySha256 = hash.digest('hex');
      handler(req, res, record);
    });
    req.on('error', () => {});
  });
  if (opts.keepAliveTimeout !== undefined) server.keepAliveTimeout = opts.keepAliveTimeout;
  const idle: Array<() => void> = [];
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => {
      sockets.delete(s);
      if (sockets.size === 0) for (const resolve of idle.splice(0)) resolve();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    server,
    seen,
    connections: () => sockets.size,
    untilNoConnections: () =>
      sockets.size === 0 ? Promise.resolve() : new Promise<void>((resolve) => idle.push(resolve)),
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
