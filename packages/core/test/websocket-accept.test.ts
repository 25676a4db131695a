import { createHash } from 'node:crypto';
import { once } from 'node:events';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { type RunningGateway, startGateway } from '@lucid/test-kit';
import { afterEach, describe, expect, it } from 'vitest';

const KEY = 'dGhlIHNhbXBsZSBub25jZQ==';
const accept = (key: string) =>
  createHash('sha1').update(`${key}258EAFA5-E914-47DA-95CA-C5AB0DC85B11`).digest('base64');

/** What a hostile upstream got on one connection: the handshake head, then every byte after it. */
interface Capture {
  head: string;
  after: Buffer[];
  closed: Promise<void>;
}

/**
 * A raw TCP upstream that answers the first request head with `answer(key)` and records every byte
 * it receives after that head. Not an HTTP server: it says whatever the test makes it say.
 */
async function hostileUpstream(answer: (key: string) => string) {
  const captures: Capture[] = [];
  const sockets = new Set<Socket>();
  const server: Server = createServer((socket) => {
    sockets.add(socket);
    let buffered = Buffer.alloc(0);
    let capture: Capture | undefined;
    const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
    socket.on('error', () => {});
    socket.on('data', (chunk: Buffer) => {
      if (capture) {
        capture.after.push(chunk);
        return;
      }
      buffered = Buffer.concat([buffered, chunk]);
      const end = buffered.indexOf('\r\n\r\n');
      if (end === -1) return;
      const head = buffered.subarray(0, end).toString('latin1');
      capture = { head, after: [], closed };
      captures.push(capture);
      const rest = buffered.subarray(end + 4);
      if (rest.length > 0) capture.after.push(rest);
      const key = /^sec-websocket-key:\s*(.+)$/im.exec(head)?.[1]?.trim() ?? '';
      socket.write(answer(key));
    });
    socket.once('close', () => sockets.delete(socket));
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return {
    url: `http://127.0.0.1:${(server.address() as { port: number }).port}`,
    captures,
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/**
 * A WebSocket handshake over a raw socket, with a smuggled HTTP request pipelined right behind it;
 * after the gateway's answer head, one more request. Returns the gateway's whole answer.
 */
async function handshake(port: number): Promise<{ text: string }> {
  const socket = connect(port, '127.0.0.1');
  socket.on('error', () => {});
  await once(socket, 'connect');
  const smuggled = 'GET /admin/secrets HTTP/1.1\r\nHost: upstream\r\n\r\n';
  socket.write(
    `GET /ws/chat HTTP/1.1\r\nHost: gateway\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: ${KEY}\r\n\r\n${smuggled}`,
  );
  const chunks: Buffer[] = [];
  let sentMore = false;
  await new Promise<void>((resolve) => {
    socket.on('data', (c: Buffer) => {
      chunks.push(c);
      if (!sentMore && Buffer.concat(chunks).includes('\r\n\r\n')) {
        sentMore = true;
        // A client that goes on as if it got a tunnel: this must not reach the upstream either.
        if (socket.writable) socket.write(smuggled);
        socket.end();
      }
    });
    socket.once('close', () => resolve());
  });
  return { text: Buffer.concat(chunks).toString('latin1') };
}

describe('a 101 opens a tunnel only when it accepts the handshake the gateway sent', () => {
  let gw: RunningGateway | undefined;
  let upstream: Awaited<ReturnType<typeof hostileUpstream>> | undefined;
  afterEach(async () => {
    await gw?.close();
    await upstream?.close();
    gw = undefined;
    upstream = undefined;
  });

  async function start(answer: (key: string) => string) {
    upstream = await hostileUpstream(answer);
    gw = await startGateway({
      services: { ws: { targets: [upstream.url], health: false } },
      routes: [{ prefix: '/ws', service: 'ws', websocket: true, auth: 'public' }],
    });
    return gw.port;
  }

  const head = (lines: string[]) => `HTTP/1.1 101 Switching Protocols\r\n${lines.join('\r\n')}\r\n\r\n`;

  it.each([
    ['Upgrade: h2c, no accept', () => head(['Connection: Upgrade', 'Upgrade: h2c'])],
    [
      'no Upgrade header',
      (key: string) => head(['Connection: Upgrade', `Sec-WebSocket-Accept: ${accept(key)}`]),
    ],
    ['Upgrade: websocket, no accept', () => head(['Connection: Upgrade', 'Upgrade: websocket'])],
    [
      'an accept for another key',
      () =>
        head([
          'Connection: Upgrade',
          'Upgrade: websocket',
          `Sec-WebSocket-Accept: ${accept('b3RoZXIga2V5IGF0IGFsbA==')}`,
        ]),
    ],
    [
      'the key echoed back instead of its accept',
      (key: string) => head(['Connection: Upgrade', 'Upgrade: websocket', `Sec-WebSocket-Accept: ${key}`]),
    ],
    [
      'an accept and then more bytes right behind the head',
      () => `${head(['Connection: Upgrade', 'Upgrade: h2c'])}PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n`,
    ],
  ])('%s: 502, and not one byte tunneled', async (_name, answer) => {
    const port = await start(answer);
    const { text } = await handshake(port);
    expect(text.startsWith('HTTP/1.1 502 ')).toBe(true);
    expect(text).toContain('"code":"GW_UPSTREAM_ERROR"');
    expect(text).not.toContain('101');
    expect(text).not.toContain('PRI *');
    // The upstream got the handshake only, and its connection was closed.
    expect(upstream!.captures).toHaveLength(1);
    await upstream!.captures[0]!.closed;
    expect(Buffer.concat(upstream!.captures[0]!.after).toString()).toBe('');
    expect(upstream!.captures[0]!.head).toMatch(new RegExp(`sec-websocket-key: ${KEY}`, 'i'));
  });

  it('a real accept opens the tunnel (case and spacing of Upgrade as the RFC allows)', async () => {
    const port = await start((key) =>
      head(['Connection: Upgrade', 'Upgrade:  WebSocket ', `Sec-WebSocket-Accept: ${accept(key)}`]),
    );
    const { text } = await handshake(port);
    expect(text.startsWith('HTTP/1.1 101 ')).toBe(true);
    expect(text).toMatch(/\r\nUpgrade: websocket\r\n/);
    await upstream!.captures[0]!.closed;
    // Past a real accept the bytes are the client's to send: they are tunneled.
    expect(Buffer.concat(upstream!.captures[0]!.after).toString()).toContain('GET /admin/secrets');
  });
});
