import { readFileSync } from 'node:fs';
import {
  createServer,
  type IncomingMessage,
  type Server,
  type ServerOptions,
  type ServerResponse,
} from 'node:http';
import { createServer as createHttpsServer, type Server as HttpsServer } from 'node:https';
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import type { ServerConfig } from '../config/schema.js';
import { routeAcmeTls } from './acme-tls.js';
import type { CertificateSource, ServerCertificate } from './certificate-source.js';
import { Http2Door, sniffCleartext, splitByAlpn } from './http2.js';
import { hstsValue, listenerTlsOptions } from './tls-options.js';

export interface ServerHandlers {
  handler(req: IncomingMessage, res: ServerResponse): void;
  upgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void;
}

/** The listening server (HTTP/1.1, or HTTPS) and the HTTP/2 side it hands connections to. */
export interface GatewayServer {
  server: Server;
  /** Undefined when HTTP/2 is off for this port (`server.http2`). */
  h2: Http2Door | undefined;
}

/**
 * The gateway's server on one port, with the configured limits and timeouts, answering what Node's
 * parser refuses itself, and `Expect: 100-continue` through the gateway. Cleartext: HTTP/1.1, plus
 * HTTP/2 with prior knowledge (h2c). With `tls`: HTTPS, HTTP/2 or HTTP/1.1 by ALPN; with `tls.acme`,
 * without a certificate until `certificates` installs one, and tls-alpn-01 challenges answered.
 */
export function createGatewayServer(
  cfg: ServerConfig,
  handlers: ServerHandlers,
  certificates?: CertificateSource,
): GatewayServer {
  const sts = cfg.tls && hstsValue(cfg.tls.hsts);
  const on: ServerHandlers = sts
    ? {
        handler(req, res) {
          res.setHeader('strict-transport-security', sts);
          handlers.handler(req, res);
        },
        upgrade: handlers.upgrade,
      }
    : handlers;
  const options: ServerOptions = {
    maxHeaderSize: cfg.limits.headers,
    headersTimeout: cfg.timeouts.headers,
    requestTimeout: cfg.timeouts.request,
    // Node enforces the two timeouts above only on this tick (30 s by default): slow clients got 30 s more.
    connectionsCheckingInterval: Math.max(100, Math.min(1_000, cfg.timeouts.headers, cfg.timeouts.request)),
    keepAliveTimeout: cfg.timeouts.keepAlive,
    // Duplicate headers stay as Node joins them; the auth plugin checks rawHeaders where it matters.
    joinDuplicateHeaders: false,
    requireHostHeader: true,
  };
  const h2 =
    cfg.http2.enabled && (cfg.tls !== undefined || cfg.http2.cleartext) ? new Http2Door(cfg, on) : undefined;
  let server: Server;
  if (cfg.tls) {
    const https = createHttpsServer(
      {
        ...options,
        ...listenerTlsOptions(cfg.tls, cfg.tls.acme ? undefined : readServerTls(cfg.tls)),
        ALPNProtocols: h2 ? ['h2', 'http/1.1'] : ['http/1.1'],
      },
      on.handler,
    );
    if (h2) splitByAlpn(https, h2);
    if (cfg.tls.acme && certificates) routeAcmeTls(https, certificates);
    // A handshake that fails (wrong protocol, bad certificate) is the client's; the server goes on.
    https.on('tlsClientError', (_err, socket) => socket.destroy());
    server = https as unknown as Server;
  } else {
    server = createServer(options, on.handler);
    if (h2) sniffCleartext(server, h2);
  }
  server.on('upgrade', on.upgrade);
  // `Expect: 100-continue` is ours to answer: the proxy invites the body once the request may go on.
  server.on('checkContinue', on.handler);
  server.on('clientError', (err: NodeJS.ErrnoException, socket: Duplex) => rejectBadRequest(err, socket));
  return { server, h2 };
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

/** The certificate and key of `server.tls`, read from their files (at start and on each reload). */
export function readServerTls(tls: NonNullable<ServerConfig['tls']>): ServerCertificate {
  const read = (what: string, path: string) => {
    try {
      return readFileSync(path);
    } catch (err) {
      throw new Error(
        `server.tls.${what}: cannot read ${path} (${(err as NodeJS.ErrnoException).code ?? err})`,
      );
    }
  };
  return { cert: read('cert', tls.cert ?? ''), key: read('key', tls.key ?? '') };
}

/**
 * Reads the certificate files again and uses them for new connections (open ones keep theirs).
 * Throws, leaving the old certificate in use, when the files cannot be read or do not match.
 * ACME certificates are the certificate source's to swap (see `installCertificate`).
 */
export function reloadServerTls(server: Server, tls: NonNullable<ServerConfig['tls']>): void {
  if (tls.acme) return;
  installCertificate(server, tls, readServerTls(tls));
}

/** Uses a certificate for new connections, with the listener's whole TLS setup (open ones keep theirs). */
export function installCertificate(
  server: Server,
  tls: NonNullable<ServerConfig['tls']>,
  certificate: ServerCertificate,
): void {
  (server as unknown as HttpsServer).setSecureContext(listenerTlsOptions(tls, certificate));
}

/**
 * Stops accepting, lets requests in flight finish for up to `graceMs`, then cuts what is left,
 * upgraded sockets and HTTP/2 sessions included (they left the HTTP/1.1 server's books but still
 * hold it open).
 */
export async function drain(
  { server, h2 }: GatewayServer,
  graceMs: number,
  upgraded: Iterable<Duplex>,
): Promise<void> {
  const closed = new Promise<void>((resolve) => server.close(() => resolve()));
  server.closeIdleConnections();
  h2?.drain();
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<void>((resolve) => {
    timer = setTimeout(resolve, graceMs);
    timer.unref();
  });
  await Promise.race([closed, deadline]);
  clearTimeout(timer);
  server.closeAllConnections();
  h2?.destroyAll();
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
