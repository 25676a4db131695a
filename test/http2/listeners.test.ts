import { X509Certificate } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { connect as tcpConnect } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import type { GatewayConfigInput } from '@lucid/gateway-core';
import {
  FLAG,
  FRAME,
  frame,
  h2Connect,
  h2Request,
  headerBlock,
  rawH2,
  type ServerCertificate,
  send,
  serverCertificate,
  startGateway,
  startUpstream,
  type Upstream,
} from '@lucid/test-kit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

let cert: ServerCertificate;
let upstream: Upstream;
const held: ServerResponse[] = [];
beforeAll(async () => {
  cert = await serverCertificate();
  upstream = await startUpstream((req: IncomingMessage, res: ServerResponse) => {
    if (req.url?.startsWith('/hold')) held.push(res);
    else res.end(`ok ${req.url}`);
  });
});
afterAll(async () => {
  for (const res of held.splice(0)) res.end();
  await upstream.close();
  await cert.close();
});

const routes = () => ({
  services: { api: { targets: [upstream.url], health: false } },
  routes: [{ prefix: '/api', service: 'api', auth: 'public' }],
});
const quiet = { level: 'silent' as const, pretty: false, accessLog: false };

/** The certificate a new TLS connection to `port` is shown (its SHA-256 fingerprint), and the ALPN result. */
function handshake(port: number, alpn: string[]): Promise<{ fingerprint: string; alpn: string | false }> {
  return new Promise((resolve, reject) => {
    const socket = tlsConnect(
      { port, host: '127.0.0.1', ca: cert.ca, servername: 'localhost', ALPNProtocols: alpn },
      () => {
        const peer = socket.getPeerX509Certificate();
        resolve({ fingerprint: peer?.fingerprint256 ?? '', alpn: socket.alpnProtocol ?? false });
        socket.destroy();
      },
    );
    socket.once('error', reject);
  });
}

describe('HTTPS on the gateway port (server.tls)', () => {
  it('negotiates h2 or http/1.1 by ALPN, and http/1.1 for a client that offers none', async () => {
    const gw = await startGateway({
      logging: quiet,
      server: { tls: { cert: cert.certFile, key: cert.keyFile } },
      ...routes(),
    });
    try {
      expect((await handshake(gw.port, ['h2', 'http/1.1'])).alpn).toBe('h2');
      expect((await handshake(gw.port, ['http/1.1'])).alpn).toBe('http/1.1');
      const h1 = await send(`${gw.url}/api/plain`, { ca: cert.ca });
      expect(h1.text).toBe('ok /plain');
      const h2 = await h2Request(`${gw.url}/api/two`, { ca: cert.ca });
      expect(h2.body.toString()).toBe('ok /two');
      const line = gw.logs.find((l) => l.msg === 'request' && l.path === '/api/two');
      expect(line === undefined || line.http === '2.0').toBe(true);
    } finally {
      await gw.close();
    }
  });

  it('reloads the certificate files on reload: new connections get the new one, open ones keep working', async () => {
    const config = {
      logging: quiet,
      server: { tls: { cert: cert.certFile, key: cert.keyFile } },
      ...routes(),
    };
    const gw = await startGateway(config);
    try {
      const before = await handshake(gw.port, ['h2']);
      const session = await h2Connect(gw.url, cert.ca);
      const rotated = await cert.rotate();
      await gw.gateway.reload(config as GatewayConfigInput);
      const after = await handshake(gw.port, ['h2']);
      expect(after.fingerprint).not.toBe(before.fingerprint);
      expect(after.fingerprint).toBe(new X509Certificate(rotated).fingerprint256);
      // The connection opened before the rotation is still served.
      expect((await h2Request(`${gw.url}/api/still`, { session })).status).toBe(200);
      session.close();
    } finally {
      await gw.close();
    }
  });

  it('a reload whose certificate cannot be read fails and keeps serving the old one', async () => {
    const config = {
      logging: quiet,
      server: { tls: { cert: cert.certFile, key: cert.keyFile } },
      ...routes(),
    };
    const gw = await startGateway(config);
    try {
      const before = await handshake(gw.port, ['h2']);
      const broken = { ...config, server: { tls: { cert: `${cert.certFile}.missing`, key: cert.keyFile } } };
      await expect(gw.gateway.reload(broken as GatewayConfigInput)).rejects.toThrow(
        /server\.tls\.cert: cannot read .*ENOENT/,
      );
      expect((await handshake(gw.port, ['h2'])).fingerprint).toBe(before.fingerprint);
    } finally {
      await gw.close();
    }
  });

  it('refuses to start with a certificate file it cannot read, naming the setting', async () => {
    await expect(
      startGateway({
        logging: quiet,
        server: { tls: { cert: '/nonexistent/cert.pem', key: cert.keyFile } },
        ...routes(),
      }),
    ).rejects.toThrow(/server\.tls\.cert: cannot read \/nonexistent\/cert\.pem/);
  });

  it('a failed handshake (plain HTTP on the TLS port) costs that connection only', async () => {
    const gw = await startGateway({
      logging: quiet,
      server: { tls: { cert: cert.certFile, key: cert.keyFile } },
      ...routes(),
    });
    try {
      const closed = await new Promise<boolean>((resolve) => {
        const s = tcpConnect(gw.port, '127.0.0.1', () => s.write('GET / HTTP/1.1\r\nHost: x\r\n\r\n'));
        s.on('error', () => {});
        s.once('close', () => resolve(true));
      });
      expect(closed).toBe(true);
      expect((await send(`${gw.url}/api/after`, { ca: cert.ca })).status).toBe(200);
    } finally {
      await gw.close();
    }
  });

  it('http2.enabled: false keeps the TLS port at HTTP/1.1', async () => {
    const gw = await startGateway({
      logging: quiet,
      server: { tls: { cert: cert.certFile, key: cert.keyFile }, http2: { enabled: false } },
      ...routes(),
    });
    try {
      expect((await handshake(gw.port, ['h2', 'http/1.1'])).alpn).toBe('http/1.1');
      expect((await send(`${gw.url}/api/one`, { ca: cert.ca })).status).toBe(200);
    } finally {
      await gw.close();
    }
  });
});

describe('cleartext HTTP/2 (h2c) next to HTTP/1.1', () => {
  it('takes the preface even when it arrives a byte at a time', async () => {
    const gw = await startGateway({ logging: quiet, ...routes() });
    try {
      const socket = tcpConnect(gw.port, '127.0.0.1');
      await new Promise((r) => socket.once('connect', r));
      const settings = new Promise<Buffer>((resolve) => socket.once('data', resolve));
      for (const byte of Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n')) {
        await new Promise<void>((r) => socket.write(Buffer.from([byte]), () => r()));
      }
      socket.write(Buffer.from([0, 0, 0, FRAME.SETTINGS, 0, 0, 0, 0, 0]));
      const first = await settings;
      expect(first[3]).toBe(FRAME.SETTINGS); // the server's SETTINGS: an HTTP/2 session
      socket.destroy();
    } finally {
      await gw.close();
    }
  });

  it('http2.cleartext: false: the preface is not HTTP/2 there, HTTP/1.1 still is served', async () => {
    const gw = await startGateway({ logging: quiet, server: { http2: { cleartext: false } }, ...routes() });
    try {
      await expect(h2Request(`${gw.url}/api/x`)).rejects.toThrow();
      expect((await send(`${gw.url}/api/x`)).status).toBe(200);
    } finally {
      await gw.close();
    }
  });

  it('a session that never opens a stream is closed after timeouts.headers', async () => {
    const gw = await startGateway({
      logging: quiet,
      server: { timeouts: { headers: '300ms' } },
      ...routes(),
    });
    try {
      const r = await rawH2(gw.port);
      await r.closed;
      expect(r.frames.some((f) => f.type === FRAME.SETTINGS)).toBe(true);
    } finally {
      await gw.close();
    }
  });

  it('an HTTP/2 request without :authority or Host is a 400; a Host that contradicts :authority too', async () => {
    const gw = await startGateway({ logging: quiet, ...routes() });
    const authority = `127.0.0.1:${gw.port}`;
    // The first byte of the answer's header block: `:status` from HPACK's static table (0x88 is 200, 0x8c is 400).
    const statusOf = async (id: number, headers: Array<[string, string]>) => {
      const r = await rawH2(gw.port);
      r.send(frame(FRAME.HEADERS, FLAG.END_HEADERS | FLAG.END_STREAM, id, headerBlock(headers)));
      const answer = await r.waitFor(
        (f) => (f.type === FRAME.HEADERS || f.type === FRAME.RST_STREAM) && f.streamId === id,
      );
      r.destroy();
      // nghttp2 itself may reset a request that names no host at all (PROTOCOL_ERROR): refused either way.
      return answer.type === FRAME.RST_STREAM ? 'reset' : answer.payload[0];
    };
    const base: Array<[string, string]> = [
      [':method', 'GET'],
      [':scheme', 'http'],
      [':path', '/api/host-check'],
    ];
    try {
      expect([0x8c, 'reset']).toContain(await statusOf(1, base));
      expect(await statusOf(1, [...base, [':authority', authority], ['host', 'evil.example']])).toBe(0x8c);
      expect(await statusOf(1, [...base, [':authority', authority], ['host', authority]])).toBe(0x88);
      expect(await statusOf(1, [...base, ['host', authority]])).toBe(0x88);
      expect(upstream.seen.filter((s) => s.headers['x-forwarded-host'] === 'evil.example')).toEqual([]);
    } finally {
      await gw.close();
    }
  });

  it('on close: GOAWAY to HTTP/2 clients, the request in flight finishes, then the gateway stops', async () => {
    const gw = await startGateway({ logging: quiet, ...routes() });
    const session = await h2Connect(gw.url);
    const goaway = new Promise<void>((r) => session.once('goaway', () => r()));
    const inFlight = h2Request(`${gw.url}/api/hold-drain`, { session });
    await expect.poll(() => held.length).toBe(1);
    const closing = gw.gateway.close({ graceMs: 10_000 });
    await goaway;
    held.shift()!.end('finished late');
    const answer = await inFlight;
    expect(answer.status).toBe(200);
    expect(answer.body.toString()).toBe('finished late');
    await closing;
    session.destroy();
  });
});
