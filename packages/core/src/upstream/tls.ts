import { readFileSync } from 'node:fs';
import type { ServiceConfig } from '../config/schema.js';
import type { TlsOptions } from '../types.js';

/**
 * Reads a service's `tls` files once, when the gateway is built (never per request).
 *
 * @example
 * const tls = staticTls({ ca: '/etc/lucid/ca.pem', rejectUnauthorized: true });
 */
export function staticTls(tls: ServiceConfig['tls']): TlsOptions | undefined {
  if (!tls) return undefined;
  const read = (p: string | undefined) => (p === undefined ? undefined : readFileSync(p));
  return {
    ...(tls.ca && { ca: read(tls.ca)! }),
    ...(tls.cert && { cert: read(tls.cert)! }),
    ...(tls.key && { key: read(tls.key)! }),
    ...(tls.servername && { servername: tls.servername }),
    rejectUnauthorized: tls.rejectUnauthorized,
  };
}
