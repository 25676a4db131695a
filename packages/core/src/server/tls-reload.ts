import type { Server } from 'node:http';
import type { Server as HttpsServer } from 'node:https';
import { createSecureContext, type SecureContextOptions } from 'node:tls';

/**
 * Checks certificate material before a reload builds anything: throws (naming `server.tls`) when
 * the key does not match the certificate or either does not parse, so a bad rotation is refused
 * whole and the old certificate keeps serving.
 */
export function checkedServerTls(options: SecureContextOptions): SecureContextOptions {
  try {
    createSecureContext(options);
  } catch (err) {
    throw new Error(`server.tls: the certificate and key cannot be used (${(err as Error).message})`);
  }
  return options;
}

/** New connections get this certificate; open ones keep theirs. */
export function useServerTls(server: Server, options: SecureContextOptions): void {
  (server as unknown as HttpsServer).setSecureContext(options);
}
