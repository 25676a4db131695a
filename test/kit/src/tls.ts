import { createPki } from './consul/pki.js';

export interface ServerCertificate {
  /** The CA that signed it (PEM), for clients to trust. */
  ca: string;
  certFile: string;
  keyFile: string;
  /** Issues another certificate for the same names (rotation); returns its PEM. */
  rotate(): Promise<string>;
  close(): Promise<void>;
}

/**
 * A real certificate for `localhost` and 127.0.0.1, signed by a test CA, in files (as the gateway's
 * `server.tls` reads them). Needs the `openssl` CLI.
 */
export async function serverCertificate(): Promise<ServerCertificate> {
  const pki = await createPki('lucid.test');
  const ca = await pki.createCa('Lucid Test CA');
  const sans = { dns: ['localhost'], ips: ['127.0.0.1'] };
  const first = await pki.issue(ca, sans, 'localhost');
  const certFile = await pki.file('server.pem', first.cert);
  const keyFile = await pki.file('server.key', first.key);
  return {
    ca: ca.cert,
    certFile,
    keyFile,
    async rotate() {
      const next = await pki.issue(ca, sans, 'localhost');
      await pki.file('server.pem', next.cert);
      await pki.file('server.key', next.key);
      return next.cert;
    },
    close: () => pki.close(),
  };
}
