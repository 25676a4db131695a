import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { seenFor, statuses } from './support/expect.js';
import { head, RawConnection, rawExchange } from './support/raw.js';
import { HOST, type Stack, startStack } from './support/stack.js';

/**
 * WebSocket smuggling: a client asks for an upgrade the upstream does not grant, hoping the gateway
 * tunnels the connection anyway and lets raw requests through past its checks.
 */

const UPGRADE = [
  'Connection: Upgrade',
  'Upgrade: websocket',
  'Sec-WebSocket-Version: 13',
  'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==',
];

let stack: Stack;
beforeAll(async () => {
  // The suite's upstream has no WebSocket endpoint: it answers an upgrade request with a plain 200.
  stack = await startStack();
});
afterAll(async () => {
  await stack?.close();
});

describe('upgrades the upstream refuses', () => {
  it('relays the non-101 answer, closes, and never tunnels a request sent with the handshake', async () => {
    const reply = await rawExchange(
      stack.port,
      head('GET /public/ws-1 HTTP/1.1', `Host: ${HOST}`, ...UPGRADE) +
        head('GET /api/ws-hidden-1 HTTP/1.1', `Host: ${HOST}`),
    );
    expect(statuses(reply)).toEqual([200]);
    expect(reply.raw.toString('latin1')).not.toMatch(/^HTTP\/1\.1 101/);
    expect(seenFor(stack, '/public/ws-1')).toHaveLength(1);
    expect(seenFor(stack, '/api/ws-hidden-1')).toEqual([]);
    expect(stack.tap.requestLines().filter((l) => l.includes('ws-hidden'))).toEqual([]);
  });

  it('never tunnels a request sent after the refused handshake was answered', async () => {
    const conn = await RawConnection.open(stack.port);
    try {
      await conn.write(head('GET /public/ws-2 HTTP/1.1', `Host: ${HOST}`, ...UPGRADE));
      const [answer] = await conn.responses(1);
      expect(answer!.status).toBe(200);
      await conn.write(head('GET /api/ws-hidden-2 HTTP/1.1', `Host: ${HOST}`)).catch(() => {});
      await conn.untilClosed();
      expect(seenFor(stack, '/api/ws-hidden-2')).toEqual([]);
      expect(stack.tap.requestLines().filter((l) => l.includes('ws-hidden-2'))).toEqual([]);
    } finally {
      conn.destroy();
    }
  });

  it('refuses an upgrade on a method other than GET', async () => {
    const reply = await rawExchange(
      stack.port,
      `${head('POST /public/ws-3 HTTP/1.1', `Host: ${HOST}`, ...UPGRADE, 'Content-Length: 3')}abc`,
    );
    expect(statuses(reply)).toEqual([400]);
    expect(seenFor(stack, '/public/ws-3')).toEqual([]);
  });

  it('refuses an upgrade to anything but websocket, whatever the case of its name', async () => {
    for (const proto of ['h2c', 'TLS/1.0', 'websocket2', 'websocket, h2c']) {
      const reply = await rawExchange(
        stack.port,
        head('GET /public/ws-4 HTTP/1.1', `Host: ${HOST}`, 'Connection: Upgrade', `Upgrade: ${proto}`),
      );
      expect(statuses(reply), proto).toEqual([400]);
    }
    expect(seenFor(stack, '/public/ws-4')).toEqual([]);
  });
});
