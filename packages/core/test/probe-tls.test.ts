import { once } from 'node:events';
import { createSecureServer } from 'node:http2';
import { createServer as createHttpsServer } from 'node:https';
import type { TLSSocket } from 'node:tls';
import type { GatewayPlugin, TlsOptions } from '@lucid/gateway-core';
import { send, startGateway } from '@lucid/test-kit';
import { createPki, type Pki } from '@lucid/test-kit/consul';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

// A service whose TLS comes from a plugin (a mesh's mTLS, as Consul Connect gives it): every client
// the gateway opens to its targets presents that certificate, health probes as well as proxying.
describe('health probes use the TLS the service plugin provides', () => {
  let pki: Pki;
  let clientTls: TlsOptions;
  let serverTls: { ca: string; cert: string; key: string };
  beforeAll(async () => {
    pki = await createPki('lucid.test');
    const ca = await pki.createCa();
    const server = await pki.issue(ca, { ips: ['127.0.0.1'] }, 'upstream');
    const client = await pki.issue(ca, { uris: ['spiffe://lucid.test/ns/default/svc/gateway'] }, 'gateway');
    serverTls = { ca: ca.cert, cert: server.cert, key: server.key };
    clientTls = { ca: ca.cert, cert: client.cert, key: client.key };
  }, 30_000);
  afterAll(() => pki.close());

  it.each([
    ['HTTP/1.1', false],
    ['HTTP/2', true],
  ])('%s: the probe presents the client certificate, the target is up and serves', async (_name, http2) => {
    // Only a client with a certificate from the mesh's CA gets an answer (mTLS).
    const peers: string[] = [];
    const handler = (
      req: { url?: string; socket: unknown },
      res: { writeHead(s: number): { end(b: string): void } },
    ) => {
      const cert = (req.socket as TLSSocket).getPeerCertificate();
      peers.push(`${req.url} ${cert.subject?.CN}`);
      res.writeHead(200).end('ok');
    };
    const options = { ...serverTls, requestCert: true, rejectUnauthorized: true };
    const upstream = http2
      ? createSecureServer({ ...options, allowHTTP1: false }, handler as never)
      : createHttpsServer(options, handler as never);
    upstream.listen(0, '127.0.0.1');
    await once(upstream, 'listening');
    const port = (upstream.address() as { port: number }).port;
    const mesh: GatewayPlugin = {
      name: 'mesh-tls',
      upstreamTls: () => ({ current: () => ({ ...clientTls, version: 'v1' }) }),
    };
    const gw = await startGateway(
      {
        services: {
          mesh: { targets: [`https://127.0.0.1:${port}`], health: '/healthz', ...(http2 && { http2: true }) },
        },
        routes: [{ prefix: '/m', service: 'mesh', auth: 'public' }],
      },
      [mesh],
    );
    try {
      // listen() waits for the first health round.
      expect((await gw.gateway.health()).services.mesh).toBe(true);
      expect(peers).toContain('/healthz gateway');
      expect((await send(`${gw.url}/m/x`)).status).toBe(200);
      expect(peers).toContain('/x gateway');
    } finally {
      await gw.close();
      if ('closeAllConnections' in upstream) upstream.closeAllConnections();
      await new Promise<void>((resolve) => upstream.close(() => resolve()));
    }
  });
});
