import { once } from 'node:events';
import { createServer, type Socket } from 'node:net';
import { connect } from 'node:tls';
import { beforeAll, describe, expect, it } from 'vitest';
import { offersAcmeTls } from './acme-tls.js';

/** The first bytes a real TLS client sends (its ClientHello), offering these ALPN protocols. */
async function clientHello(alpn: string[] | undefined, servername = 'api.example.org'): Promise<Buffer> {
  const server = createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as { port: number };
  const accepted = once(server, 'connection') as Promise<[Socket]>;
  const client = connect({ host: '127.0.0.1', port, servername, ...(alpn && { ALPNProtocols: alpn }) });
  client.on('error', () => {});
  const [socket] = await accepted;
  const [first] = (await once(socket, 'data')) as [Buffer];
  client.destroy();
  socket.destroy();
  server.close();
  return first;
}

describe('offersAcmeTls (which TLS connections are a CA checking tls-alpn-01)', () => {
  let acme: Buffer;
  let browser: Buffer;
  let none: Buffer;
  beforeAll(async () => {
    acme = await clientHello(['acme-tls/1']);
    browser = await clientHello(['h2', 'http/1.1']);
    none = await clientHello(undefined);
  });

  it('finds acme-tls/1 in a real ClientHello, and nothing in others', () => {
    expect(offersAcmeTls(acme)).toBe(true);
    expect(offersAcmeTls(browser)).toBe(false);
    expect(offersAcmeTls(none)).toBe(false);
  });

  it('asks for more while the record is incomplete, at every split', () => {
    for (let n = 0; n < acme.length; n++) expect(offersAcmeTls(acme.subarray(0, n))).toBe('more');
  });

  it('is not fooled by plain HTTP, a lying record length, or garbage', () => {
    expect(offersAcmeTls(Buffer.from('GET / HTTP/1.1\r\n\r\n'))).toBe(false);
    const huge = Buffer.from(acme);
    huge.writeUInt16BE(0xffff, 3);
    expect(offersAcmeTls(huge)).toBe(false);
    // A ClientHello whose inner lengths run past the record never reads beyond it.
    for (let i = 5; i < acme.length; i++) {
      const bent = Buffer.from(acme);
      bent[i] = 0xff;
      expect([true, false]).toContain(offersAcmeTls(bent));
    }
  });
});
