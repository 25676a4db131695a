import { send } from '@lucid/test-kit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { seenFor, statuses } from './support/expect.js';
import { head, RawConnection, rawExchange } from './support/raw.js';
import { type Engine, HOST, type Stack, startStack } from './support/stack.js';

/**
 * Clients that hold connections: slowloris heads, slow bodies, idle keep-alive sockets, and
 * clients asking for close. Every case waits for the gateway to close the socket (an event), and
 * the timeouts are small in this stack so that happens quickly.
 */

const TIMEOUTS = { headers: '1s', request: '2s', keepAlive: '1s' };

/** Writes `piece` every `ms` until the connection closes: the attacker's pace, not a wait. */
function trickle(conn: RawConnection, piece: string, ms: number): () => void {
  const timer = setInterval(() => {
    if (conn.isClosed) clearInterval(timer);
    else conn.socket.write(piece);
  }, ms);
  return () => clearInterval(timer);
}

// Concurrent: each case waits out a timeout on its own connection, and they do not share paths.
describe.concurrent.each<Engine>(['undici', 'http-proxy'])('slow and idle clients (%s engine)', (engine) => {
  let stack: Stack;
  beforeAll(async () => {
    stack = await startStack({ engine, server: { timeouts: TIMEOUTS } });
  });
  afterAll(async () => {
    await stack?.close();
  });

  it('closes a connection whose head never ends with 408, forwarding nothing', async () => {
    const conn = await RawConnection.open(stack.port);
    await conn.write(`GET /public/slow-1 HTTP/1.1\r\nHost: ${HOST}\r\n`);
    const reply = await conn.untilClosed();
    expect(statuses(reply)).toEqual([408]);
    expect(seenFor(stack, '/public/slow-1')).toEqual([]);
  });

  it('closes a connection trickling header lines forever (slowloris)', async () => {
    const conn = await RawConnection.open(stack.port);
    await conn.write(`GET /public/slow-2 HTTP/1.1\r\nHost: ${HOST}\r\n`);
    const stop = trickle(conn, 'X-Slow: a\r\n', 50);
    try {
      const reply = await conn.untilClosed();
      expect(statuses(reply)).toEqual([408]);
    } finally {
      stop();
    }
    expect(seenFor(stack, '/public/slow-2')).toEqual([]);
  });

  it('closes a connection that sends only part of the request line', async () => {
    const conn = await RawConnection.open(stack.port);
    await conn.write('GET /public/slow-3');
    const reply = await conn.untilClosed();
    expect(reply.responses.filter((r) => r.status !== 408)).toEqual([]);
    expect(seenFor(stack, '/public/slow-3')).toEqual([]);
  });

  it('closes a connection whose body stops halfway; the upstream never gets it whole', async () => {
    const conn = await RawConnection.open(stack.port);
    await conn.write(`${head('POST /public/slow-4 HTTP/1.1', `Host: ${HOST}`, 'Content-Length: 100')}abc`);
    const reply = await conn.untilClosed();
    expect(reply.responses.filter((r) => r.status === 200)).toEqual([]);
    expect(seenFor(stack, '/public/slow-4').filter((r) => r.bodySha256 !== '')).toEqual([]);
  });

  it('closes a connection trickling its body a byte at a time', async () => {
    const conn = await RawConnection.open(stack.port);
    await conn.write(head('POST /public/slow-5 HTTP/1.1', `Host: ${HOST}`, 'Content-Length: 1000'));
    const stop = trickle(conn, 'x', 20);
    try {
      const reply = await conn.untilClosed();
      expect(reply.responses.filter((r) => r.status === 200)).toEqual([]);
    } finally {
      stop();
    }
    expect(seenFor(stack, '/public/slow-5').filter((r) => r.bodySha256 !== '')).toEqual([]);
  });

  it('closes a connection trickling a chunked body', async () => {
    const conn = await RawConnection.open(stack.port);
    await conn.write(head('POST /public/slow-6 HTTP/1.1', `Host: ${HOST}`, 'Transfer-Encoding: chunked'));
    const stop = trickle(conn, '1\r\nx\r\n', 20);
    try {
      await conn.untilClosed();
    } finally {
      stop();
    }
    expect(seenFor(stack, '/public/slow-6').filter((r) => r.bodySha256 !== '')).toEqual([]);
  });

  it('closes an idle keep-alive connection after its answer', async () => {
    const conn = await RawConnection.open(stack.port);
    await conn.write(head('GET /public/idle-1 HTTP/1.1', `Host: ${HOST}`));
    const [answer] = await conn.responses(1);
    expect(answer!.status).toBe(200);
    expect(answer!.headers.connection).toEqual(['keep-alive']);
    const reply = await conn.untilClosed();
    expect(statuses(reply)).toEqual([200]);
  });

  it('closes a connection that asked for close, right after the answer', async () => {
    const reply = await rawExchange(
      stack.port,
      head('GET /public/close-1 HTTP/1.1', `Host: ${HOST}`, 'Connection: close'),
    );
    expect(statuses(reply)).toEqual([200]);
    expect(reply.responses[0]!.headers.connection).toEqual(['close']);
  });

  it('closes an HTTP/1.0 connection after its answer', async () => {
    const reply = await rawExchange(stack.port, head('GET /public/close-2 HTTP/1.0', `Host: ${HOST}`));
    expect(statuses(reply)).toEqual([200]);
    expect(reply.responses[0]!.headers.connection).toEqual(['close']);
  });

  it('closes after an upstream that itself says close, not before the answer', async () => {
    const reply = await rawExchange(
      stack.port,
      head('GET /public/close-3 HTTP/1.1', `Host: ${HOST}`, 'Connection: close', 'Keep-Alive: timeout=600'),
    );
    expect(statuses(reply)).toEqual([200]);
    expect(reply.responses[0]!.headers['keep-alive']).toBeUndefined();
  });

  it('closes fifty slowloris connections and serves others meanwhile', async () => {
    const conns = await Promise.all(Array.from({ length: 50 }, () => RawConnection.open(stack.port)));
    try {
      await Promise.all(
        conns.map((c, i) => c.write(`GET /public/many-${i} HTTP/1.1\r\nHost: ${HOST}\r\nX-A: `)),
      );
      const ok = await send(`${stack.url}/public/many-ok`, { headers: { host: HOST } });
      expect(ok.status).toBe(200);
      const replies = await Promise.all(conns.map((c) => c.untilClosed()));
      for (const reply of replies) expect(statuses(reply)).toEqual([408]);
      expect(
        stack.upstream.seen.filter((r) => r.url.startsWith('/public/many-') && r.url !== '/public/many-ok'),
      ).toEqual([]);
    } finally {
      for (const c of conns) c.destroy();
    }
  });
});
