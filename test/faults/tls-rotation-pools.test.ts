import { X509Certificate } from 'node:crypto';
import { once } from 'node:events';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:https';
import type { Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TLSSocket } from 'node:tls';
import type { GatewayConfigInput } from '@lucid/gateway-core';
import { UndiciEngine } from '@lucid/gateway-core';
import {
  type RunningGateway,
  type ServerCertificate,
  send,
  serverCertificate,
  startGateway,
} from '@lucid/test-kit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

/**
 * A TLS upstream whose client certificate (`services.X.tls.cert`/`key`) is rotated and reloaded
 * several times: every reload's new certificate is the one presented, the engine holds one pool for
 * the target throughout, and the old pools' sockets close.
 */

const ROTATIONS = 3;

describe('TLS file rotation keeps one connection pool per target', () => {
  let upstreamCert: ServerCertificate;
  let clientCert: ServerCertificate;
  let upstream: Server;
  let dir: string;
  let gw: RunningGateway;
  const engine = new UndiciEngine();
  const sockets = new Set<Socket>();
  let config: GatewayConfigInput;

  beforeAll(async () => {
    upstreamCert = await serverCertificate();
    clientCert = await serverCertificate();
    dir = await mkdtemp(join(tmpdir(), 'lucid-tls-rotation-'));
    const caFile = join(dir, 'ca.pem');
    await writeFile(caFile, upstreamCert.ca);
    upstream = createServer(
      {
        cert: await readFile(upstreamCert.certFile),
        key: await readFile(upstreamCert.keyFile),
        requestCert: true,
        rejectUnauthorized: false,
      },
      (req, res) => {
        const peer = (req.socket as TLSSocket).getPeerCertificate();
        res.writeHead(200, { 'content-type': 'text/plain' }).end(peer.fingerprint256 ?? 'none');
      },
    );
    upstream.on('secureConnection', (s: Socket) => {
      sockets.add(s);
      s.on('close', () => sockets.delete(s));
    });
    upstream.listen(0, '127.0.0.1');
    await once(upstream, 'listening');
    const { port } = upstream.address() as { port: number };
    config = {
      logging: { level: 'warn', pretty: false, accessLog: false },
      services: {
        svc: {
          targets: [`https://127.0.0.1:${port}`],
          health: false,
          tls: { ca: caFile, cert: clientCert.certFile, key: clientCert.keyFile },
        },
      },
      routes: [{ prefix: '/svc', service: 'svc', auth: 'public' }],
    } as GatewayConfigInput;
    gw = await startGateway(config as Record<string, unknown>, [], { engine });
  });

  afterAll(async () => {
    await gw?.close();
    for (const s of sockets) s.destroy();
    await new Promise<void>((resolve) => upstream?.close(() => resolve()));
    await clientCert?.close();
    await upstreamCert?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it(`presents each rotated certificate over ${ROTATIONS} reloads with one pool and the old sockets closed`, async () => {
    const first = await send(`${gw.url}/svc/a`);
    expect(first.status).toBe(200);
    expect(engine.size).toBe(1);
    let previous = first.body.toString();
    for (let i = 0; i < ROTATIONS; i++) {
      const pem = await clientCert.rotate();
      await gw.gateway.reload(config);
      const r = await send(`${gw.url}/svc/a`);
      expect(r.status).toBe(200);
      const presented = r.body.toString();
      expect(presented).toBe(new X509Certificate(pem).fingerprint256);
      expect(presented).not.toBe(previous);
      previous = presented;
      expect(engine.size).toBe(1);
      // The replaced pool had nothing in flight: its socket closes, only the new one stays open.
      await expect.poll(() => sockets.size, { timeout: 10_000 }).toBe(1);
    }
  });
});
