import { once } from 'node:events';
import { connect, createServer, type Server, type Socket } from 'node:net';

export interface Tap {
  url: string;
  port: number;
  /** Every byte the gateway sent towards the upstream, over all connections, in arrival order. */
  bytes(): string;
  /** How many HTTP request lines went through (a smuggled request would be one more than sent). */
  requestLines(): string[];
  close(): Promise<void>;
}

// Not anchored at a line start: a buffered body goes up with a Content-Length, so the next request
// on the connection follows its last byte directly.
const REQUEST_LINE = /[A-Z]+ \/\S* HTTP\/1\.[01]\r?$/gm;

/**
 * A TCP pass-through in front of an upstream that records the raw bytes the gateway wrote:
 * what the upstream's own parser would make of them is in the upstream's `seen`, what was on the
 * wire is here (a second request hidden in a body shows up as a second request line).
 */
export async function startTap(upstreamPort: number): Promise<Tap> {
  const chunks: Buffer[] = [];
  const sockets = new Set<Socket>();
  const server: Server = createServer((client) => {
    const upstream = connect({ port: upstreamPort, host: '127.0.0.1' });
    sockets.add(client);
    sockets.add(upstream);
    client.on('data', (c: Buffer) => chunks.push(c));
    client.pipe(upstream);
    upstream.pipe(client);
    const done = () => {
      client.destroy();
      upstream.destroy();
    };
    client.on('error', done).on('close', done);
    upstream.on('error', done).on('close', done);
    client.on('close', () => sockets.delete(client));
    upstream.on('close', () => sockets.delete(upstream));
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as { port: number };
  const bytes = () => Buffer.concat(chunks).toString('latin1');
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    bytes,
    requestLines: () => bytes().match(REQUEST_LINE) ?? [],
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
