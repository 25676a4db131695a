import { createSecureContext } from 'node:tls';
import type { ServerConfig } from '../config/schema.js';
import type { ServerCertificate } from './certificate-source.js';
import { listenerTlsOptions } from './tls-options.js';

/**
 * Checks certificate material before a reload builds anything: throws (naming `server.tls`) when
 * the key does not match the certificate or either does not parse, so a bad rotation is refused
 * whole and the old certificate keeps serving.
 */
export function checkedCertificate(
  tls: NonNullable<ServerConfig['tls']>,
  certificate: ServerCertificate,
): ServerCertificate {
  try {
    createSecureContext(listenerTlsOptions(tls, certificate));
  } catch (err) {
    throw new Error(`server.tls: the certificate and key cannot be used (${(err as Error).message})`);
  }
  return certificate;
}
