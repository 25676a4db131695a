import { createHash } from 'node:crypto';
import { request } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { seenFor, statuses } from './support/expect.js';
import { head, RawConnection, rawExchange } from './support/raw.js';
import { END, type Engine, HOST, type Stack, startStack } from './support/stack.js';
import { hs256 } from './support/token.js';

/** The suite's body limit (server.limits.body in the stack). */
const LIMIT = 64 * 1024;

const post = (path: string, ...lines: string[]) => head(`POST ${path} HTTP/1.1`, `Host: ${HOST}`, ...lines);
const sha256 = (b: Buffer | string) => createHash('sha256').update(b).digest('hex');

describe.each<Engine>(['undici', 'http-proxy'])('body limits over raw sockets (%s engine)', (engine) => {
  let stack: Stack;
  beforeAll(async () => {
    stack = await startStack({ engine });
  });
  afterAll(async () => {
    await stack?.close();
  });

  it('refuses a Content-Length over the limit with 413 before reading it, forwarding nothing', async () => {
    const conn = await RawConnection.open(stack.port);
    try {
      // Only the head is sent: the answer must not wait for a body.
      await conn.write(post('/public/limit-1', `Content-Length: ${LIMIT + 1}`));
      const reply = await conn.untilClosed();
      expect(statuses(reply)).toEqual([413]);
      expect(reply.responses[0]!.headers.connection).toEqual(['close']);
      expect(seenFor(stack, '/public/limit-1')).toEqual([]);
    } finally {
      conn.destroy();
    }
  });

  it('refuses an absurd Content-Length (beyond 2^53) the same way', async () => {
    const reply = await rawExchange(
      stack.port,
      post('/public/limit-2', 'Content-Length: 99999999999999999999'),
    );
    expect(statuses(reply)[0]).toBeGreaterThanOrEqual(400);
    expect(seenFor(stack, '/public/limit-2')).toEqual([]);
  });

  it('cuts a chunked body once it passes the limit; the upstream never gets it whole', async () => {
    const conn = await RawConnection.open(stack.port);
    try {
      await conn.write(post('/public/limit-3', 'Transfer-Encoding: chunked'));
      const piece = `4000\r\n${'a'.repeat(0x4000)}\r\n`;
      // Keep sending until the gateway gives up on us: it must, well before we stop.
      for (let sent = 0; sent < LIMIT * 4 && !conn.isClosed; sent += 0x4000)
        await conn.write(piece).catch(() => {});
      const reply = await conn.untilClosed();
      expect(reply.responses.map((r) => r.status).filter((s) => s !== 413)).toEqual([]);
      const seen = seenFor(stack, '/public/limit-3');
      expect(seen.filter((r) => r.bodySha256 !== '')).toEqual([]);
      for (const r of seen) expect(r.bodyBytes).toBeLessThanOrEqual(LIMIT);
    } finally {
      conn.destroy();
    }
  });

  it('forwards a body of exactly the limit, byte for byte', async () => {
    const body = Buffer.alloc(LIMIT, 7);
    const reply = await rawExchange(
      stack.port,
      Buffer.concat([
        Buffer.from(post('/public/limit-4', `Content-Length: ${LIMIT}`)),
        body,
        Buffer.from(END),
      ]),
    );
    expect(statuses(reply)).toEqual([200, 200]);
    const [seen] = seenFor(stack, '/public/limit-4');
    expect(seen!.bodySha256).toBe(sha256(body));
  });

  it('forwards a chunked body of exactly the limit', async () => {
    const reply = await rawExchange(
      stack.port,
      `${post('/public/limit-5', 'Transfer-Encoding: chunked')}${(LIMIT / 2).toString(16)}\r\n${'b'.repeat(LIMIT / 2)}\r\n${(LIMIT / 2).toString(16)}\r\n${'b'.repeat(LIMIT / 2)}\r\n0\r\n\r\n${END}`,
    );
    expect(statuses(reply)).toEqual([200, 200]);
    expect(seenFor(stack, '/public/limit-5')[0]!.bodySha256).toBe(sha256('b'.repeat(LIMIT)));
  });

  it('answers Expect: 100-continue over the limit with 413 and no 100 Continue', async () => {
    const conn = await RawConnection.open(stack.port);
    try {
      await conn.write(post('/public/limit-6', `Content-Length: ${LIMIT * 16}`, 'Expect: 100-continue'));
      const reply = await conn.untilClosed();
      expect(reply.raw.toString('latin1')).not.toContain('100 Continue');
      expect(statuses(reply)).toEqual([413]);
      expect(seenFor(stack, '/public/limit-6')).toEqual([]);
    } finally {
      conn.destroy();
    }
  });

  it('does not invite the body of an unauthenticated Expect: 100-continue request', async () => {
    const conn = await RawConnection.open(stack.port);
    try {
      await conn.write(post('/api/limit-7', 'Content-Length: 100', 'Expect: 100-continue'));
      const [first] = await conn.responses(1);
      expect(first!.status).toBe(401);
      expect(conn.raw.toString('latin1')).not.toContain('100 Continue');
      expect(seenFor(stack, '/api/limit-7')).toEqual([]);
    } finally {
      conn.destroy();
    }
  });

  it('invites the body of an allowed Expect: 100-continue request and forwards it whole', async () => {
    const body = Buffer.alloc(1000, 3);
    const token = hs256({ sub: 'user-7', scope: 'read' });
    const status = await new Promise<number>((resolve, reject) => {
      const req = request(
        {
          host: '127.0.0.1',
          port: stack.port,
          method: 'POST',
          path: '/api/limit-8',
          agent: false,
          headers: {
            host: HOST,
            authorization: `Bearer ${token}`,
            expect: '100-continue',
            'content-length': body.length,
          },
        },
        (res) => {
          res.resume();
          res.on('end', () => resolve(res.statusCode ?? 0));
        },
      );
      req.on('error', reject);
      // Node's client holds the body until the server says continue.
      req.on('continue', () => req.end(body));
    });
    expect(status).toBe(200);
    expect(seenFor(stack, '/api/limit-8')[0]!.bodySha256).toBe(sha256(body));
  });
});
