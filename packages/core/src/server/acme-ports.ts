import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { ServerConfig } from '../config/schema.js';
import type { AcmeConfig } from '../config/server-tls.js';
import type { CertificateSource } from './certificate-source.js';
import { installCertificate, listenOn } from './http-server.js';

const CHALLENGE_PREFIX = '/.well-known/acme-challenge/';
/** An ACME token is base64url (RFC 8555 §8.3): anything else is never looked up. */
const TOKEN = /^[A-Za-z0-9_-]{1,128}$/;

/**
 * The plain HTTP port beside an ACME-fed HTTPS port: http-01 challenge answers (RFC 8555 §8.3),
 * `/health/live`, and a 308 redirect to HTTPS for everything else, to the name asked when it is
 * one of the certificate's names (else the first of them), on port 443.
 */
export function createAcmePlainServer(
  acme: AcmeConfig,
  source: CertificateSource,
  limits: { headers: number; headersTimeout: number },
): Server {
  const names = new Set(acme.domains);
  const fallback = acme.domains[0]!;
  const server = createServer(
    {
      maxHeaderSize: limits.headers,
      headersTimeout: limits.headersTimeout,
      requestTimeout: limits.headersTimeout,
      requireHostHeader: false,
    },
    function acmePlainPort(req: IncomingMessage, res: ServerResponse) {
      const url = req.url ?? '/';
      const path = url.split('?', 1)[0]!;
      const read = req.method === 'GET' || req.method === 'HEAD';
      if (read && path.startsWith(CHALLENGE_PREFIX)) {
        const token = path.slice(CHALLENGE_PREFIX.length);
        if (!TOKEN.test(token)) return plain(res, 404, 'not found\n');
        source.httpChallenge(token).then(
          (answer) => (answer === undefined ? plain(res, 404, 'not found\n') : plain(res, 200, answer)),
          () => plain(res, 500, 'error\n'),
        );
        return;
      }
      if (read && path === '/health/live') {
        res.writeHead(200, { 'content-type': 'application/json', 'cache-control': 'no-store' });
        res.end('{"status":"up"}');
        return;
      }
      if (!url.startsWith('/')) return plain(res, 400, 'bad request\n');
      const host = hostnameOf(req.headers.host);
      const to = host !== undefined && names.has(host) ? host : fallback;
      res.writeHead(308, { location: `https://${to}${url}`, 'content-length': '0', connection: 'close' });
      res.end();
    },
  );
  server.on('clientError', (_err, socket) => socket.destroy());
  return server;
}

function plain(res: ServerResponse, status: number, body: string): void {
  res.writeHead(status, {
    'content-type': 'text/plain',
    'content-length': Buffer.byteLength(body),
    'cache-control': 'no-store',
  });
  res.end(body);
}

/** The lowercased name of a Host header, without its port (IPv6 literals never match a DNS name). */
function hostnameOf(host: string | undefined): string | undefined {
  if (!host) return undefined;
  const name = host.replace(/:\d*$/, '').toLowerCase();
  return name.endsWith('.') ? name.slice(0, -1) : name;
}

/**
 * Opens the plain port of `server.tls.acme` beside the HTTPS server and hands the source what it
 * needs to install certificates there. Resolves with the plain server, listening.
 */
export async function openAcmePlainPort(opts: {
  https: Server;
  tls: NonNullable<ServerConfig['tls']>;
  acme: AcmeConfig;
  source: CertificateSource;
  host: string;
  limits: { headers: number; headersTimeout: number };
  guard(server: Server): void;
}): Promise<Server> {
  const plain = createAcmePlainServer(opts.acme, opts.source, opts.limits);
  opts.guard(plain);
  await listenOn(plain, opts.acme.httpPort, opts.host);
  opts.source.attach({ install: (certificate) => installCertificate(opts.https, opts.tls, certificate) });
  return plain;
}
