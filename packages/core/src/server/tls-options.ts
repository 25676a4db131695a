import { constants } from 'node:crypto';
import type { SecureContextOptions } from 'node:tls';
import type { ServerTlsConfig } from '../config/server-tls.js';
import type { ServerCertificate } from './certificate-source.js';

/**
 * TLS 1.2 suites with forward secrecy and AEAD only (ECDHE with AES-GCM or ChaCha20-Poly1305), best
 * first: no static RSA key exchange, no CBC, no SHA-1 MACs. TLS 1.3's suites are all of that already.
 */
export const TLS12_CIPHERS = [
  'ECDHE-ECDSA-AES128-GCM-SHA256',
  'ECDHE-RSA-AES128-GCM-SHA256',
  'ECDHE-ECDSA-AES256-GCM-SHA384',
  'ECDHE-RSA-AES256-GCM-SHA384',
  'ECDHE-ECDSA-CHACHA20-POLY1305',
  'ECDHE-RSA-CHACHA20-POLY1305',
].join(':');

/**
 * The listener's whole TLS setup with a certificate: one function for start and for every swap,
 * because `setSecureContext` forgets whatever a call does not repeat (versions, ciphers, options).
 * TLS 1.2 and 1.3 only, the server's cipher order, no compression, no renegotiation.
 */
export function listenerTlsOptions(
  tls: Pick<ServerTlsConfig, 'minVersion' | 'passphrase'>,
  certificate: ServerCertificate | undefined,
): SecureContextOptions {
  return {
    ...(certificate && { cert: certificate.cert, key: certificate.key }),
    ...(tls.passphrase !== undefined && { passphrase: tls.passphrase }),
    minVersion: tls.minVersion,
    maxVersion: 'TLSv1.3',
    ciphers: TLS12_CIPHERS,
    ecdhCurve: 'X25519:P-256:P-384',
    honorCipherOrder: true,
    secureOptions: constants.SSL_OP_NO_COMPRESSION | constants.SSL_OP_NO_RENEGOTIATION,
  };
}

/** The `Strict-Transport-Security` value for `server.tls.hsts`, or undefined when it is off. */
export function hstsValue(hsts: ServerTlsConfig['hsts']): string | undefined {
  if (hsts === false) return undefined;
  return `max-age=${Math.floor(hsts.maxAge / 1000)}${hsts.includeSubDomains ? '; includeSubDomains' : ''}${hsts.preload ? '; preload' : ''}`;
}
