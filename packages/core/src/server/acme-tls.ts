import type { Server as HttpsServer } from 'node:https';
import type { Socket } from 'node:net';
import { createSecureContext, createServer as createTlsServer, type TLSSocket } from 'node:tls';
import type { CertificateSource } from './certificate-source.js';

/** The ALPN protocol of the tls-alpn-01 challenge (RFC 8737 §6.2). */
export const ACME_TLS_ALPN = 'acme-tls/1';
const ACME_TLS_ALPN_BYTES = Buffer.from(ACME_TLS_ALPN, 'latin1');
/** A TLS record holds at most 2^14 bytes of plaintext (RFC 8446 §5.1); a ClientHello fits in one. */
const MAX_RECORD = 5 + 16_384;

/**
 * Whether the first TLS record of a connection is a ClientHello that offers ALPN `acme-tls/1`;
 * `'more'` while the record is not complete yet. Anything it cannot read is not a challenge.
 */
export function offersAcmeTls(buf: Buffer): boolean | 'more' {
  if (buf.length < 5) return buf.length === 0 || buf[0] === 0x16 ? 'more' : false;
  if (buf[0] !== 0x16) return false;
  const recordEnd = 5 + buf.readUInt16BE(3);
  if (recordEnd > MAX_RECORD) return false;
  if (buf.length < recordEnd) return 'more';
  // Handshake header: type 1 (ClientHello) and a 3-byte length; then version (2) and random (32).
  let at = 5;
  if (buf[at] !== 0x01) return false;
  at += 4 + 2 + 32;
  const skip = (lenBytes: 1 | 2): boolean => {
    if (at + lenBytes > recordEnd) return false;
    at += lenBytes + (lenBytes === 1 ? buf[at]! : buf.readUInt16BE(at));
    return at <= recordEnd;
  };
  // Session id, cipher suites, compression methods.
  if (!skip(1) || !skip(2) || !skip(1)) return false;
  if (at + 2 > recordEnd) return false;
  const extensionsEnd = Math.min(recordEnd, at + 2 + buf.readUInt16BE(at));
  at += 2;
  while (at + 4 <= extensionsEnd) {
    const type = buf.readUInt16BE(at);
    const len = buf.readUInt16BE(at + 2);
    at += 4;
    if (at + len > extensionsEnd) return false;
    if (type === 0x0010) {
      // application_layer_protocol_negotiation: a 2-byte list length, then 1-byte-length names.
      let p = at + 2;
      const end = Math.min(at + len, at + 2 + buf.readUInt16BE(at));
      while (p < end) {
        const n = buf[p]!;
        if (p + 1 + n > end) return false;
        if (n === ACME_TLS_ALPN_BYTES.length && buf.subarray(p + 1, p + 1 + n).equals(ACME_TLS_ALPN_BYTES)) {
          return true;
        }
        p += 1 + n;
      }
      return false;
    }
    at += len;
  }
  return false;
}

/**
 * Sends the TLS port's connections that offer ALPN `acme-tls/1` (a CA checking tls-alpn-01) to a
 * TLS server of their own, which answers with the challenge certificate for the name asked and
 * nothing else; every other connection goes on to the HTTPS server untouched. Replaces the HTTPS
 * server's connection listener (as `sniffCleartext` does for h2c); bytes read are put back.
 */
export function routeAcmeTls(server: HttpsServer, source: CertificateSource): void {
  const tlsListener = server.listeners('connection')[0] as ((socket: Socket) => void) | undefined;
  if (tlsListener === undefined) throw new Error('the HTTPS server has no connection listener');
  let challenges: ReturnType<typeof createTlsServer> | undefined;
  const challengeServer = () => {
    challenges ??= createTlsServer({
      ALPNProtocols: [ACME_TLS_ALPN],
      minVersion: 'TLSv1.2',
      SNICallback: (servername, cb) => {
        source.alpnChallenge(servername.toLowerCase()).then(
          (c) => cb(null, c ? createSecureContext({ cert: c.cert, key: c.key }) : undefined),
          (err: Error) => cb(err),
        );
      },
    })
      // The CA only needs the handshake; nothing is served on this connection.
      .on('secureConnection', (socket: TLSSocket) => socket.end())
      .on('tlsClientError', (_err, socket) => socket.destroy());
    return challenges;
  };
  server.removeListener('connection', tlsListener);
  server.prependListener('connection', (socket: Socket) => {
    let seen: Buffer | undefined;
    const onData = (chunk: Buffer) => {
      seen = seen === undefined ? chunk : Buffer.concat([seen, chunk]);
      const acme = offersAcmeTls(seen);
      if (acme === 'more') return;
      socket.off('data', onData);
      socket.pause();
      socket.unshift(seen);
      if (acme) challengeServer().emit('connection', socket);
      else tlsListener.call(server, socket);
    };
    socket.on('data', onData);
  });
}
