import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { seenFor, statuses } from './support/expect.js';
import { head, type RawReply, rawExchange } from './support/raw.js';
import { END, HOST, type Stack, startStack } from './support/stack.js';
import { hs256 } from './support/token.js';

/**
 * Header abuse over raw sockets: what a client may send twice, spell oddly, list in `Connection`
 * or forge, and what of it the upstream may see.
 */

const token = hs256({ sub: 'user-7', tier: 'free', scope: 'read' });
const other = hs256({ sub: 'user-8', tier: 'enterprise', scope: 'admin' });

/** One request (head lines after the request line), then END; resolves once the gateway closed. */
function send(stack: Stack, requestLine: string, ...lines: string[]): Promise<RawReply> {
  return rawExchange(stack.port, head(requestLine, ...lines) + END);
}

let stack: Stack;
beforeAll(async () => {
  stack = await startStack();
});
afterAll(async () => {
  await stack?.close();
});

describe('duplicate and conflicting Host', () => {
  it('refuses two Host headers with 400 and forwards nothing', async () => {
    const reply = await send(stack, 'GET /public/host-1 HTTP/1.1', `Host: ${HOST}`, 'Host: evil.example');
    expect(statuses(reply)[0]).toBe(400);
    expect(reply.responses[0]!.body.toString()).toContain('more than one Host');
    expect(seenFor(stack, '/public/host-1')).toEqual([]);
  });

  it('refuses two Host headers spelled in different cases', async () => {
    const reply = await send(stack, 'GET /public/host-2 HTTP/1.1', `host: ${HOST}`, `HOST: ${HOST}`);
    expect(statuses(reply)[0]).toBe(400);
    expect(seenFor(stack, '/public/host-2')).toEqual([]);
  });

  it('refuses a Host that is not allowed, and one hiding the allowed name in userinfo', async () => {
    for (const host of [
      'evil.example',
      `${HOST}@evil.example`,
      `${HOST} evil.example`,
      `evil.example#${HOST}`,
    ]) {
      const reply = await send(stack, 'GET /public/host-3 HTTP/1.1', `Host: ${host}`);
      expect(statuses(reply)[0], host).toBe(400);
    }
    expect(seenFor(stack, '/public/host-3')).toEqual([]);
  });

  it('refuses a request without Host', async () => {
    const reply = await rawExchange(stack.port, head('GET /public/host-4 HTTP/1.1', 'Connection: close'));
    expect(statuses(reply)).toEqual([400]);
    expect(seenFor(stack, '/public/host-4')).toEqual([]);
  });

  it('sends the upstream its own Host and an X-Forwarded-Host from the client Host, never the client copies', async () => {
    const reply = await send(
      stack,
      'GET /public/host-5 HTTP/1.1',
      `Host: ${HOST}`,
      'X-Forwarded-Host: evil.example',
      'X-Forwarded-For: 6.6.6.6',
      'X-Forwarded-Proto: https',
      'X-Real-IP: 6.6.6.6',
      'Forwarded: for=6.6.6.6;host=evil.example',
    );
    expect(statuses(reply)).toEqual([200, 200]);
    const [seen] = seenFor(stack, '/public/host-5');
    expect(seen!.headers.host).toBe(new URL(stack.tap.url).host);
    expect(seen!.headers['x-forwarded-host']).toBe(HOST);
    expect(seen!.headers['x-forwarded-for']).toBe('127.0.0.1');
    expect(seen!.headers['x-forwarded-proto']).toBe('http');
    expect(seen!.headers['x-real-ip']).toBeUndefined();
    expect(seen!.headers.forwarded).toBeUndefined();
    expect(seen!.rawHeaders.join('\n')).not.toContain('evil.example');
    expect(seen!.rawHeaders.join('\n')).not.toContain('6.6.6.6');
  });
});

describe('duplicate Authorization', () => {
  it('refuses a protected request carrying two Authorization headers, and forwards nothing', async () => {
    const reply = await send(
      stack,
      'GET /api/auth-1 HTTP/1.1',
      `Host: ${HOST}`,
      `Authorization: Bearer ${token}`,
      `Authorization: Bearer ${other}`,
    );
    expect(statuses(reply)[0]).toBe(401);
    expect(seenFor(stack, '/api/auth-1')).toEqual([]);
  });

  it('refuses two Authorization headers whatever the order of valid and invalid', async () => {
    const reply = await send(
      stack,
      'GET /api/auth-2 HTTP/1.1',
      `Host: ${HOST}`,
      'authorization: Bearer not.a.token',
      `AUTHORIZATION: Bearer ${token}`,
    );
    expect(statuses(reply)[0]).toBe(401);
    expect(seenFor(stack, '/api/auth-2')).toEqual([]);
  });

  it('forwards exactly one Authorization on a public route', async () => {
    const reply = await send(
      stack,
      'GET /public/auth-3 HTTP/1.1',
      `Host: ${HOST}`,
      `Authorization: Bearer ${token}`,
      `Authorization: Bearer ${other}`,
    );
    expect(statuses(reply)).toEqual([200, 200]);
    const [seen] = seenFor(stack, '/public/auth-3');
    expect(seen!.rawHeaders.filter((h) => h.toLowerCase() === 'authorization')).toHaveLength(1);
    expect(seen!.headers['x-user-id']).toBeUndefined();
  });
});

describe('headers with underscores', () => {
  it('never reach the upstream, so CGI-style servers cannot read them as identity or forwarding headers', async () => {
    const reply = await send(
      stack,
      'GET /api/underscore-1 HTTP/1.1',
      `Host: ${HOST}`,
      `Authorization: Bearer ${token}`,
      'X_User_Id: admin',
      'X_User_Tier: enterprise',
      'x_user_scopes: admin',
      'X_Forwarded_For: 6.6.6.6',
      'X_Real_IP: 6.6.6.6',
      'X_Request_Id: forged',
    );
    expect(statuses(reply)).toEqual([200, 200]);
    const [seen] = seenFor(stack, '/api/underscore-1');
    const names = seen!.rawHeaders.filter((_, i) => i % 2 === 0);
    expect(names.filter((h) => h.includes('_'))).toEqual([]);
    expect(seen!.headers['x-user-id']).toBe('user-7');
    expect(seen!.headers['x-user-tier']).toBe('free');
    expect(seen!.headers['x-user-scopes']).toBe('read');
    expect(seen!.headers['x-forwarded-for']).toBe('127.0.0.1');
  });

  it('are dropped on public routes too', async () => {
    await send(stack, 'GET /public/underscore-2 HTTP/1.1', `Host: ${HOST}`, 'X_User_Id: admin');
    const [seen] = seenFor(stack, '/public/underscore-2');
    expect(seen!.rawHeaders.join('\n')).not.toContain('admin');
  });
});

describe('hop-by-hop abuse', () => {
  it('Connection naming the forwarding headers cannot remove what the gateway sets', async () => {
    const reply = await send(
      stack,
      'GET /public/hop-1 HTTP/1.1',
      `Host: ${HOST}`,
      'Connection: keep-alive, x-forwarded-for, x-forwarded-host, x-forwarded-proto, x-request-id, traceparent, host',
    );
    expect(statuses(reply)).toEqual([200, 200]);
    const [seen] = seenFor(stack, '/public/hop-1');
    expect(seen!.headers['x-forwarded-for']).toBe('127.0.0.1');
    expect(seen!.headers['x-forwarded-host']).toBe(HOST);
    expect(seen!.headers['x-forwarded-proto']).toBe('http');
    expect(seen!.headers['x-request-id']).toMatch(/\S/);
    expect(seen!.headers.traceparent).toMatch(/^00-/);
    expect(seen!.headers.host).toBe(new URL(stack.tap.url).host);
  });

  it('Connection naming the identity headers cannot remove the verified ones', async () => {
    await send(
      stack,
      'GET /api/hop-2 HTTP/1.1',
      `Host: ${HOST}`,
      `Authorization: Bearer ${token}`,
      'Connection: x-user-id, x-user-tier, x-user-scopes',
    );
    const [seen] = seenFor(stack, '/api/hop-2');
    expect(seen!.headers['x-user-id']).toBe('user-7');
    expect(seen!.headers['x-user-tier']).toBe('free');
  });

  it('headers listed in Connection and the hop-by-hop set stop at the gateway', async () => {
    await send(
      stack,
      'GET /public/hop-3 HTTP/1.1',
      `Host: ${HOST}`,
      'Connection: keep-alive, X-Internal-Secret',
      'X-Internal-Secret: s3cret',
      'Keep-Alive: timeout=5',
      'Proxy-Authorization: Basic Zm9vOmJhcg==',
      'Proxy-Connection: keep-alive',
      'TE: gzip, trailers',
      'Trailer: X-Checksum',
      'Upgrade: websocket',
      'HTTP2-Settings: AAMAAABkAARAAAAAAAIAAAAA',
    );
    const [seen] = seenFor(stack, '/public/hop-3');
    for (const name of [
      'x-internal-secret',
      'keep-alive',
      'proxy-authorization',
      'proxy-connection',
      'trailer',
      'upgrade',
      'http2-settings',
    ]) {
      expect(seen!.headers[name], name).toBeUndefined();
    }
    // TE is hop-by-hop: the gateway says "trailers" for itself (it relays them), and nothing else.
    expect(seen!.headers.te).toBe('trailers');
  });
});

describe('forged identity headers', () => {
  it('on a protected route the upstream sees only the verified claims, once each', async () => {
    await send(
      stack,
      'GET /api/forge-1 HTTP/1.1',
      `Host: ${HOST}`,
      'X-User-Id: admin',
      `Authorization: Bearer ${token}`,
      'x-user-id: root',
      'X-User-Tier: enterprise',
      'X-USER-SCOPES: admin',
    );
    const [seen] = seenFor(stack, '/api/forge-1');
    expect(seen!.rawHeaders.filter((h) => h.toLowerCase() === 'x-user-id')).toHaveLength(1);
    expect(seen!.headers['x-user-id']).toBe('user-7');
    expect(seen!.headers['x-user-tier']).toBe('free');
    expect(seen!.headers['x-user-scopes']).toBe('read');
    expect(seen!.rawHeaders).not.toContain('admin');
    expect(seen!.rawHeaders).not.toContain('enterprise');
  });

  it('on a public route forged identity headers are deleted', async () => {
    await send(
      stack,
      'GET /public/forge-2 HTTP/1.1',
      `Host: ${HOST}`,
      'X-User-Id: admin',
      'X-User-Tier: enterprise',
      'X-User-Scopes: admin',
    );
    const [seen] = seenFor(stack, '/public/forge-2');
    expect(seen!.headers['x-user-id']).toBeUndefined();
    expect(seen!.headers['x-user-tier']).toBeUndefined();
    expect(seen!.headers['x-user-scopes']).toBeUndefined();
  });

  it('a forged scope header does not open a route that needs the scope', async () => {
    const reply = await send(
      stack,
      'GET /admin/forge-3 HTTP/1.1',
      `Host: ${HOST}`,
      `Authorization: Bearer ${token}`,
      'X-User-Scopes: admin',
      'Scope: admin',
    );
    expect(statuses(reply)[0]).toBe(403);
    expect(seenFor(stack, '/admin/forge-3')).toEqual([]);
  });
});

describe('Expect', () => {
  it('answers an expectation other than 100-continue with 417, forwarding nothing', async () => {
    const reply = await rawExchange(
      stack.port,
      `${head('POST /public/expect-1 HTTP/1.1', `Host: ${HOST}`, 'Expect: x-whatever', 'Content-Length: 3')}abc${END}`,
    );
    expect(statuses(reply)[0]).toBe(417);
    expect(seenFor(stack, '/public/expect-1')).toEqual([]);
  });
});

describe('oversize headers', () => {
  it('refuses one header over the limit with 431, nothing forwarded', async () => {
    const reply = await send(
      stack,
      'GET /public/big-1 HTTP/1.1',
      `Host: ${HOST}`,
      `X-Big: ${'a'.repeat(9_000)}`,
    );
    expect(statuses(reply)).toEqual([431]);
    expect(seenFor(stack, '/public/big-1')).toEqual([]);
  });

  it('refuses many small headers adding up past the limit', async () => {
    const many = Array.from({ length: 1_000 }, (_, i) => `X-H${i}: v`);
    const reply = await send(stack, 'GET /public/big-2 HTTP/1.1', `Host: ${HOST}`, ...many);
    expect(statuses(reply)).toEqual([431]);
    expect(seenFor(stack, '/public/big-2')).toEqual([]);
  });

  it('refuses a request target over the limit', async () => {
    const reply = await send(stack, `GET /public/big-3/${'a'.repeat(9_000)} HTTP/1.1`, `Host: ${HOST}`);
    expect(statuses(reply)).toEqual([431]);
    expect(seenFor(stack, '/public/big-3')).toEqual([]);
  });

  it('keeps serving other connections after refusing one', async () => {
    await send(stack, 'GET /public/big-4 HTTP/1.1', `Host: ${HOST}`, `X-Big: ${'a'.repeat(9_000)}`);
    const reply = await send(stack, 'GET /public/big-5 HTTP/1.1', `Host: ${HOST}`);
    expect(statuses(reply)).toEqual([200, 200]);
  });
});

describe('forged tiers', () => {
  let limited: Stack | undefined;
  afterEach(async () => {
    await limited?.close();
    limited = undefined;
  });

  it('a client cannot lift its tier with headers: the free budget holds', async () => {
    limited = await startStack({ freeRate: '2/min' });
    const forged = [
      'X-User-Tier: enterprise',
      'X_User_Tier: enterprise',
      'X-Tier: enterprise',
      'Tier: enterprise',
      'X-RateLimit-Tier: enterprise',
    ];
    const codes: number[] = [];
    for (let i = 0; i < 3; i++) {
      const reply = await send(
        limited,
        `GET /api/tier-${i} HTTP/1.1`,
        `Host: ${HOST}`,
        `Authorization: Bearer ${token}`,
        ...forged,
      );
      codes.push(reply.responses[0]!.status);
      expect(reply.responses[0]!.headers['ratelimit-policy']?.[0]).toMatch(/^"free"/);
    }
    expect(codes).toEqual([200, 200, 429]);
    expect(seenFor(limited, '/api/tier-2')).toEqual([]);
  });

  it('a forged X-Forwarded-For does not give a client a fresh budget', async () => {
    limited = await startStack({ freeRate: '2/min' });
    const codes: number[] = [];
    for (let i = 0; i < 3; i++) {
      const reply = await rawExchange(
        limited.port,
        head(
          `GET /public/xff-${i} HTTP/1.1`,
          `Host: ${HOST}`,
          `X-Forwarded-For: 10.0.0.${i}`,
          'Connection: close',
        ),
      );
      codes.push(reply.responses[0]!.status);
    }
    expect(codes).toEqual([200, 200, 429]);
  });
});
