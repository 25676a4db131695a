import type { IncomingMessage, Server } from 'node:http';
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import type { Registry } from 'prom-client';
import { counterOn } from '../observability/series.js';

export interface ConnectionGuardOptions {
  /** Time a new connection has to complete its first request head, counted from accept. */
  headersTimeout: number;
  /** Most open client connections; past it a new one is closed at once (0: no cap). */
  maxConnections: number;
  registry: Registry;
  metricPrefix: string;
}

const kArmed = Symbol('lucid.firstHeadTimer');
type Guarded = Socket & { [kArmed]?: NodeJS.Timeout };

const TIMEOUT_ANSWER = 'HTTP/1.1 408 Request Timeout\r\nConnection: close\r\nContent-Length: 0\r\n\r\n';

/**
 * Guards a `node:http` server's connections, where Node leaves gaps:
 * - Node's `headersTimeout` starts with a request's first byte, so a socket that never sends one
 *   stays open forever; here every connection gets `headersTimeout` from accept to finish its first
 *   head (later heads on a keep-alive connection are Node's: `keepAliveTimeout`, then `headersTimeout`).
 * - `maxConnections` caps open client connections: past it the kernel's accept is answered by an
 *   immediate close (Node's `server.maxConnections`), counted in `connections_refused_total`, so a
 *   flood cannot exhaust the process's descriptors.
 *
 * Works on the gateway's own server and on an embedder's (`gateway.guard(server)`).
 *
 * @example
 * guardConnections(server, { headersTimeout: 10_000, maxConnections: 10_000, registry, metricPrefix });
 */
export function guardConnections(server: Server, opts: ConnectionGuardOptions): void {
  const refused = counterOn(
    opts.registry,
    `${opts.metricPrefix}connections_refused_total`,
    'Client connections closed at accept because server.limits.connections were open.',
  ).labels();
  if (opts.maxConnections > 0) server.maxConnections = opts.maxConnections;
  server.on('drop', () => refused.inc());
  if (opts.headersTimeout <= 0) return;

  server.on('connection', (socket: Guarded) => {
    const timer = setTimeout(expire, opts.headersTimeout, socket);
    timer.unref();
    socket[kArmed] = timer;
    socket.once('close', disarm);
  });
  // A complete head, whatever it becomes (request, 100-continue, upgrade), ends the guard's part.
  // ('checkExpectation' is left alone: listening to it would stop Node's own 417.)
  const onHead = (req: IncomingMessage) => headArrived(req.socket);
  server.prependListener('request', onHead);
  server.prependListener('checkContinue', onHead);
  // Not 'upgrade': a listener there makes Node hand every Upgrade request to it, and a host app
  // without one would leave those sockets to nobody. The gateway's upgrade handler calls
  // `headArrived` itself; another handler's answered handshake is known by the bytes it wrote.
}

/** The connection's head is complete: the guard's part is over (later heads are Node's). */
export function headArrived(socket: Duplex): void {
  const s = socket as Guarded & { _parent?: Guarded };
  // Over TLS the guarded socket is the TCP one under the TLS socket.
  disarm.call(s[kArmed] === undefined && s._parent ? s._parent : s);
}

function disarm(this: Guarded): void {
  const timer = this[kArmed];
  if (timer === undefined) return;
  clearTimeout(timer);
  this[kArmed] = undefined;
}

/** No complete head in time: say 408 (as Node does for a slow head) and close. */
function expire(socket: Guarded): void {
  socket[kArmed] = undefined;
  // Something was answered (Node's own 417, another upgrade handler's 101): a head arrived.
  if (socket.destroyed || socket.bytesWritten > 0) return;
  if (socket.writable) socket.end(TIMEOUT_ANSWER);
  // A client that does not read must not keep the descriptor either.
  setTimeout(() => socket.destroy(), 1_000).unref();
}
