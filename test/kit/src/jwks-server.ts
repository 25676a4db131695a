import type { JsonWebKey as JWK } from 'node:crypto';
import { once } from 'node:events';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';

export interface JwksServer {
  url: string;
  /** Replaces the published keys (a rotation). */
  setKeys(keys: JWK[]): void;
  /**
   * `ok` serves the keys, `error` answers 500, `hang` never answers, `hold` answers once the mode
   * is set back to `ok` (with the keys set by then).
   */
  mode: 'ok' | 'error' | 'hang' | 'hold';
  /** Requests received so far. */
  readonly fetches: number;
  /** Resolves when the fetch count reaches `n`. */
  waitForFetches(n: number): Promise<void>;
  close(): Promise<void>;
}

/** A real JWKS endpoint on a loopback port, serving whatever keys the test sets. */
export async function startJwksServer(initial: JWK[]): Promise<JwksServer> {
  let keys = initial;
  let fetches = 0;
  const waiters: Array<{ n: number; resolve: () => void }> = [];
  const sockets = new Set<Socket>();
  const state = { mode: 'ok' as JwksServer['mode'] };

  const held: Array<() => void> = [];
  const server: Server = createServer((req, res) => {
    fetches++;
    for (const w of waiters.filter((w) => fetches >= w.n)) {
      waiters.splice(waiters.indexOf(w), 1);
      w.resolve();
    }
    if (state.mode === 'hang') return;
    if (state.mode === 'hold') {
      held.push(() => answer(req, res));
      return;
    }
    answer(req, res);
  });
  const answer = (req: IncomingMessage, res: ServerResponse) => {
    if (state.mode === 'error' || req.url !== '/.well-known/jwks.json') {
      res.writeHead(state.mode === 'error' ? 500 : 404).end();
      return;
    }
    const body = JSON.stringify({ keys });
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
    res.end(body);
  };
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as { port: number };

  return {
    url: `http://127.0.0.1:${port}/.well-known/jwks.json`,
    setKeys(next) {
      keys = next;
    },
    get mode() {
      return state.mode;
    },
    set mode(m) {
      state.mode = m;
      if (m !== 'hold') for (const release of held.splice(0)) release();
    },
    get fetches() {
      return fetches;
    },
    waitForFetches(n) {
      if (fetches >= n) return Promise.resolve();
      return new Promise((resolve) => waiters.push({ n, resolve }));
    },
    async close() {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
