import { createHash } from 'node:crypto';
import {
  type ClientRequest,
  request as httpRequest,
  type IncomingMessage,
  type OutgoingHttpHeaders,
  validateHeaderName,
  validateHeaderValue,
} from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { Socket } from 'node:net';
import { performance } from 'node:perf_hooks';
import type { GatewayContext, OutgoingRequest, Target } from '../types.js';
import { armed } from './engine-contract.js';
import { clientResponseHeaders } from './headers.js';
import {
  UpstreamBadUpgradeError,
  UpstreamConnectTimeoutError,
  UpstreamDeadlineError,
  UpstreamTimeoutError,
} from './upstream-error.js';

/** Bytes a client may send before the upstream accepted its handshake; past this it is not read. */
const EARLY_BYTES_MAX = 64 * 1024;

/** How long a socket may linger half-closed after its partner closed, before it is destroyed. */
const CLOSE_GRACE_MS = 5_000;

export interface TunnelResult {
  /** The upstream's status: 101 when the sockets were joined, else the relayed answer's; 0 if the client left first. */
  status: number;
  /** performance.now() when the upstream answered (0 if it never did). */
  answeredAt: number;
}

/**
 * Carries WebSockets, apart from the engines that forward plain HTTP: a handshake goes to a target
 * on its own connection and, once the upstream answers 101, the client's socket is joined to the
 * upstream's; they close together. `close()` cuts every joined tunnel.
 *
 * @example
 * const tunnel = new WebSocketTunnel();
 * const result = await tunnel.open(ctx, socket, head, target, outgoing);
 */
export class WebSocketTunnel {
  /** Both sockets of every joined tunnel. */
  readonly #live = new Set<Socket>();

  open(
    ctx: GatewayContext,
    client: Socket,
    head: Buffer,
    target: Target,
    outgoing: OutgoingRequest,
  ): Promise<TunnelResult> {
    return tunnelWebSocket(ctx, client, head, target, outgoing, this.#live);
  }

  /** How many sockets are joined now (two per tunnel). */
  get size(): number {
    return this.#live.size;
  }

  close(): void {
    for (const socket of this.#live) socket.destroy();
    this.#live.clear();
  }
}

/**
 * One WebSocket handshake to `target` and, once the upstream answers 101, joins the client's
 * socket to the upstream's; they close together. A non-101 answer is relayed as a normal response.
 * Rejects only when nothing has been written to the client yet (the upstream could not be reached or
 * did not answer in time), so the caller can still answer with a problem. Resolves when it is over.
 * Joined sockets sit in `live` while open, so a closing gateway can cut them.
 */
function tunnelWebSocket(
  ctx: GatewayContext,
  client: Socket,
  head: Buffer,
  target: Target,
  outgoing: OutgoingRequest,
  live: Set<Socket>,
): Promise<TunnelResult> {
  return new Promise<TunnelResult>((resolve, reject) => {
    const { url } = target;
    const secure = url.protocol === 'https:';
    const tls = secure ? outgoing.transport.tls : undefined;
    const req: ClientRequest = (secure ? httpsRequest : httpRequest)({
      host: url.hostname.replace(/^\[|\]$/g, ''),
      port: url.port || (secure ? 443 : 80),
      method: 'GET',
      path: outgoing.path,
      headers: { ...outgoing.headers, connection: 'Upgrade', upgrade: 'websocket' },
      // A tunnel owns its connection for life: nothing to pool.
      agent: false,
      ...tls,
    });
    let settled = false;
    let connectTimer: NodeJS.Timeout | undefined;
    // The handshake is the tunnel's exchange: `timeout` bounds its answer head, `deadline` all of it.
    const answerTimer = armed(outgoing.timeout)
      ? setTimeout(() => req.destroy(new UpstreamTimeoutError(outgoing.timeout)), outgoing.timeout)
      : undefined;
    const deadline = outgoing.deadline;
    const deadlineTimer = armed(deadline)
      ? setTimeout(() => req.destroy(new UpstreamDeadlineError(deadline)), deadline)
      : undefined;

    const settle = () => {
      settled = true;
      clearTimeout(connectTimer);
      clearTimeout(answerTimer);
      clearTimeout(deadlineTimer);
      client.off('close', onClientGone);
      client.off('end', onClientGone);
      client.off('data', onEarly);
      // Not read again until joined (pipe resumes it): nothing the client sends is lost or dropped unseen.
      client.pause();
    };
    const onClientGone = () => {
      if (settled) return;
      settle();
      req.destroy();
      // The client ended its side (the server allows half-open sockets): nothing more is owed to it.
      client.destroy();
      resolve({ status: 0, answeredAt: 0 });
    };
    client.once('close', onClientGone);
    // Read the client during the handshake, so a client that leaves is seen at once (a paused socket
    // never reports its peer's close). What it sends early is kept for the upstream, up to a bound.
    client.once('end', onClientGone);
    const early: Buffer[] = [];
    let earlyBytes = 0;
    const onEarly = (chunk: Buffer) => {
      early.push(chunk);
      earlyBytes += chunk.length;
      if (earlyBytes >= EARLY_BYTES_MAX) client.pause();
    };
    client.on('data', onEarly);

    req.once('socket', (socket: Socket) => {
      if (!socket.connecting) return;
      const ms = outgoing.transport.connectTimeout;
      if (!armed(ms)) return;
      connectTimer = setTimeout(() => req.destroy(new UpstreamConnectTimeoutError(ms)), ms);
      socket.once('connect', () => clearTimeout(connectTimer));
    });

    req.on('error', (err) => {
      if (settled) return;
      settle();
      reject(err);
    });

    req.once('upgrade', (res: IncomingMessage, upstream: Socket, upstreamHead: Buffer) => {
      if (settled) {
        upstream.destroy();
        return;
      }
      settle();
      if (client.destroyed) {
        upstream.destroy();
        resolve({ status: 0, answeredAt: 0 });
        return;
      }
      // A 101 opens a tunnel only when it answers the handshake the gateway sent (RFC 6455 §4.1):
      // anything else could be a different protocol, and the client's next bytes would reach the
      // upstream unchecked. Nothing was written to the client yet: the caller answers 502.
      const refused = acceptProblem(res, outgoing.headers['sec-websocket-key']);
      if (refused !== undefined) {
        upstream.destroy();
        reject(new UpstreamBadUpgradeError(refused));
        return;
      }
      const answeredAt = performance.now();
      // From here bytes flow between the two sockets; the response object has nothing more to say.
      ctx.res.detachSocket(client);
      client.write(switchingProtocols(ctx, res));
      const sent = early.length > 0 ? Buffer.concat([head, ...early]) : head;
      join(client, sent, upstream, upstreamHead, live, () => resolve({ status: 101, answeredAt }));
    });

    req.once('response', (res: IncomingMessage) => {
      if (settled) {
        res.destroy();
        return;
      }
      settle();
      const status = res.statusCode ?? 502;
      if (status === 101) {
        // Node hands a 101 without `Upgrade` here, as a plain answer: no handshake was accepted.
        req.destroy();
        reject(new UpstreamBadUpgradeError('no Upgrade header'));
        return;
      }
      const answeredAt = performance.now();
      // Not a WebSocket endpoint (or it refused): relay the answer as it is, then close.
      ctx.res.writeHead(status, res.statusMessage, clientResponseHeaders(ctx, res.headers));
      res.pipe(ctx.res);
      res.once('error', () => ctx.res.destroy());
      ctx.res.once('close', () => {
        res.destroy();
        closeSoon(client);
        resolve({ status, answeredAt });
      });
      ctx.res.once('finish', () => closeSoon(client));
    });

    req.end();
  });
}

const WEBSOCKET_GUID = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11';

/** RFC 6455 §4.2.2: the `Sec-WebSocket-Accept` an upstream must send for `key`. */
export function websocketAccept(key: string): string {
  return createHash('sha1')
    .update(key + WEBSOCKET_GUID)
    .digest('base64');
}

/** Why a 101 is not an accept of the handshake sent with `key`, or undefined when it is one. */
function acceptProblem(res: IncomingMessage, key: unknown): string | undefined {
  const upgrade = res.headers.upgrade;
  if (typeof upgrade !== 'string' || upgrade.trim().toLowerCase() !== 'websocket') {
    return 'Upgrade is not "websocket"';
  }
  if (typeof key !== 'string' || key === '') return 'the handshake carried no key';
  const accept = res.headers['sec-websocket-accept'];
  if (typeof accept !== 'string' || accept.trim() !== websocketAccept(key)) {
    return 'Sec-WebSocket-Accept missing or wrong';
  }
  return undefined;
}

/** The 101 head for the client: the upstream's headers (hop-by-hop ones dropped) plus the gateway's. */
function switchingProtocols(ctx: GatewayContext, res: IncomingMessage): string {
  const headers: OutgoingHttpHeaders = clientResponseHeaders(ctx, res.headers);
  let head = 'HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n';
  for (const name in headers) {
    const value = headers[name];
    if (value === undefined) continue;
    for (const v of Array.isArray(value) ? value : [String(value)]) {
      try {
        validateHeaderName(name);
        validateHeaderValue(name, v);
      } catch {
        continue; // a header middleware set badly must not split the response
      }
      head += `${name}: ${v}\r\n`;
    }
  }
  return `${head}\r\n`;
}

/** Pipes both ways; when either socket closes the other is ended, then destroyed if it lingers. */
function join(
  client: Socket,
  head: Buffer,
  upstream: Socket,
  upstreamHead: Buffer,
  live: Set<Socket>,
  done: () => void,
) {
  let open = 2;
  for (const [socket, partner] of [
    [client, upstream],
    [upstream, client],
  ] as const) {
    live.add(socket);
    socket.setNoDelay(true);
    socket.setTimeout(0);
    socket.on('error', () => socket.destroy());
    socket.once('close', (hadError: boolean) => {
      live.delete(socket);
      // A reset is passed on as a reset: a clean end would tell the other side all was said.
      if (hadError) partner.resetAndDestroy();
      else closeSoon(partner);
      if (--open === 0) done();
    });
  }
  if (upstreamHead.length > 0) client.write(upstreamHead);
  if (head.length > 0) upstream.write(head);
  upstream.pipe(client);
  client.pipe(upstream);
}

/**
 * Ends a socket (what was written still goes out), drops what still comes in, and destroys it if
 * its peer never closes its side.
 *
 * @example res.once('finish', () => closeSoon(socket));
 */
export function closeSoon(socket: Socket): void {
  if (socket.destroyed) return;
  socket.resume();
  socket.end();
  const timer = setTimeout(() => socket.destroy(), CLOSE_GRACE_MS);
  timer.unref();
  socket.once('close', () => clearTimeout(timer));
}
