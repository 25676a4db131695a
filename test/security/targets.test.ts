import { jwtAuth } from '@lucid/middleware-auth';
import { type RunningGateway, startGateway, startUpstream, type Upstream } from '@lucid/test-kit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { seenFor, statuses } from './support/expect.js';
import { head, RawConnection, type RawReply, rawExchange } from './support/raw.js';
import { END, HOST, type Stack, startStack } from './support/stack.js';
import { AUTH, hs256 } from './support/token.js';

/**
 * Request targets and methods a gateway must not pass on as they are: absolute and authority
 * forms, CONNECT and TRACE, h2c upgrades, and paths crafted to reach the protected `/admin` and
 * `/api` through the public `/auth` and `/public` next to them.
 */

function send(stack: Stack, requestLine: string, ...lines: string[]): Promise<RawReply> {
  return rawExchange(stack.port, head(requestLine, `Host: ${HOST}`, ...lines) + END);
}

/** Everything the upstream saw, apart from the END requests. */
function proxied(stack: Stack): string[] {
  return stack.upstream.seen.map((r) => r.url).filter((u) => u !== '/public/__end');
}

let stack: Stack;
beforeAll(async () => {
  stack = await startStack();
});
afterAll(async () => {
  await stack?.close();
});

describe('request-target forms', () => {
  it.each([
    ['absolute-form naming another host', 'GET http://evil.example/public/abs-1 HTTP/1.1'],
    ['absolute-form naming the gateway itself', `GET http://${HOST}/public/abs-2 HTTP/1.1`],
    ['absolute-form pointing at a protected path', `GET http://${HOST}/admin/abs-3 HTTP/1.1`],
    ['authority-form on GET', `GET ${HOST}:443 HTTP/1.1`],
    ['asterisk-form', 'OPTIONS * HTTP/1.1'],
    ['a path without its leading slash', 'GET public/abs-4 HTTP/1.1'],
  ])('refuses %s with 400 and forwards nothing', async (_name, line) => {
    const before = proxied(stack).length;
    const reply = await send(stack, line);
    // Node's parser refuses some outright (and closes); the gateway refuses the rest and serves END.
    expect(statuses(reply)[0]).toBe(400);
    expect(proxied(stack)).toHaveLength(before);
  });

  it('never tunnels CONNECT (authority-form): the connection closes, nothing reaches an upstream', async () => {
    const before = stack.upstream.seen.length;
    const reply = await rawExchange(
      stack.port,
      head(`CONNECT ${new URL(stack.tap.url).host} HTTP/1.1`, `Host: ${HOST}`),
    );
    expect(reply.responses.filter((r) => r.status === 200)).toEqual([]);
    expect(stack.upstream.seen).toHaveLength(before);
  });
});

describe('methods', () => {
  it('answers TRACE with 405 and never forwards it (it would echo cookies and credentials)', async () => {
    const reply = await send(stack, 'TRACE /public/trace-1 HTTP/1.1', 'Cookie: session=secret');
    expect(statuses(reply)).toEqual([405, 200]);
    expect(reply.responses[0]!.headers.allow?.[0]).toContain('GET');
    expect(reply.responses[0]!.body.toString()).not.toContain('secret');
    expect(seenFor(stack, '/public/trace-1')).toEqual([]);
  });

  it('answers TRACE on a protected route with 405 too', async () => {
    const token = hs256({ sub: 'user-7', scope: 'read' });
    const reply = await send(stack, 'TRACE /api/trace-2 HTTP/1.1', `Authorization: Bearer ${token}`);
    expect(statuses(reply)[0]).toBe(405);
    expect(seenFor(stack, '/api/trace-2')).toEqual([]);
  });

  it.each(['TRACK', 'FOO', 'GET\t'])('refuses the unknown method %j before routing', async (method) => {
    const reply = await send(stack, `${method} /public/method-1 HTTP/1.1`);
    expect(statuses(reply)[0]).toBe(400);
    expect(seenFor(stack, '/public/method-1')).toEqual([]);
  });
});

describe('h2c and other upgrades', () => {
  it('refuses an h2c upgrade with 400 and forwards nothing', async () => {
    const reply = await rawExchange(
      stack.port,
      head(
        'GET /public/h2c-1 HTTP/1.1',
        `Host: ${HOST}`,
        'Connection: Upgrade, HTTP2-Settings',
        'Upgrade: h2c',
        'HTTP2-Settings: AAMAAABkAARAAAAAAAIAAAAA',
      ),
    );
    expect(statuses(reply)).toEqual([400]);
    expect(reply.raw.toString('latin1')).not.toMatch(/^HTTP\/1\.1 101/);
    expect(seenFor(stack, '/public/h2c-1')).toEqual([]);
  });

  it('refuses an h2c upgrade sent with POST and a body', async () => {
    const reply = await rawExchange(
      stack.port,
      `${head(
        'POST /public/h2c-2 HTTP/1.1',
        `Host: ${HOST}`,
        'Connection: Upgrade, HTTP2-Settings',
        'Upgrade: h2c',
        'HTTP2-Settings: AAMAAABkAARAAAAAAAIAAAAA',
        'Content-Length: 3',
      )}abc`,
    );
    expect(statuses(reply)).toEqual([400]);
    expect(seenFor(stack, '/public/h2c-2')).toEqual([]);
  });

  it('forwards Upgrade: h2c without Connection: upgrade as a plain request, the upgrade headers stripped', async () => {
    const reply = await send(
      stack,
      'GET /public/h2c-3 HTTP/1.1',
      'Upgrade: h2c',
      'HTTP2-Settings: AAMAAABkAARAAAAAAAIAAAAA',
    );
    expect(statuses(reply)).toEqual([200, 200]);
    const [seen] = seenFor(stack, '/public/h2c-3');
    expect(seen!.headers.upgrade).toBeUndefined();
    expect(seen!.headers['http2-settings']).toBeUndefined();
  });

  it('refuses a WebSocket upgrade to a protected route without a token, nothing forwarded', async () => {
    const conn = await RawConnection.open(stack.port);
    try {
      await conn.write(
        head(
          'GET /api/ws-1 HTTP/1.1',
          `Host: ${HOST}`,
          'Connection: Upgrade',
          'Upgrade: websocket',
          'Sec-WebSocket-Version: 13',
          'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==',
        ),
      );
      const reply = await conn.untilClosed();
      expect(statuses(reply)).toEqual([401]);
      expect(seenFor(stack, '/api/ws-1')).toEqual([]);
    } finally {
      conn.destroy();
    }
  });
});

/**
 * Attempts at a protected prefix through the public one next to it. Each must be refused (400),
 * land on the protected route (401 without a token), miss (404), or stay inside the public prefix.
 */
const BYPASSES = [
  '/auth/../admin/users',
  '/auth/./../admin/users',
  '/auth/%2e%2e/admin/users',
  '/auth/%2E%2E/admin/users',
  '/auth/.%2e/admin/users',
  '/auth/%2e./admin/users',
  '/auth/..%2fadmin/users',
  '/auth/..%2Fadmin/users',
  '/auth%2f..%2fadmin/users',
  '/auth/%2e%2e%2fadmin/users',
  '/auth/..%5cadmin/users',
  '/auth/..%5Cadmin/users',
  '/auth\\..\\admin/users',
  '/auth/..\\admin/users',
  '/auth/..;/admin/users',
  '/auth;/../admin/users',
  '/auth/;/../../admin/users',
  '/auth/..%00/admin/users',
  '/auth/%00/../admin/users',
  '/auth/%252e%252e/admin/users',
  '/auth/%25%32%65%25%32%65/admin/users',
  '/auth/%c0%ae%c0%ae/admin/users',
  '/auth/%u002e%u002e/admin/users',
  '/auth/..%u2215admin/users',
  '/auth/.../admin/users',
  '/auth/..../admin/users',
  '/auth/%2e%2e/%2e%2e/admin/users',
  '/auth/../../admin/users',
  '//admin/users',
  '///admin//users',
  '/./admin/users',
  '/%61dmin/users',
  '/%61%64%6d%69%6e/users',
  '/ADMIN/users',
  '/Admin/users',
  '/admin%20/users',
  '/admin%09/users',
  '/admin./users',
  '/admin~/users',
  '/admin#/../auth/users',
  '/admin?/../auth/users',
  '/auth#/../../admin/users',
  '/public/../api/users',
  '/public/%2e%2e/api/users',
  '/public/..%2f..%2fapi/users',
  '/public/..%c0%afapi/users',
  '/auth/../admin/users/..%2f..%2f..%2fetc/passwd',
] as const;

describe('path normalization against a public prefix next to a protected one', () => {
  it.each(BYPASSES)('%s never reaches a protected route without a token', async (path) => {
    const before = stack.upstream.seen.length;
    const reply = await rawExchange(stack.port, `GET ${path} HTTP/1.1\r\nHost: ${HOST}\r\n\r\n${END}`);
    const [status] = statuses(reply);
    const reached = stack.upstream.seen
      .slice(before)
      .map((r) => r.url)
      .filter((u) => u !== '/public/__end');
    // Nothing protected was forwarded; what was forwarded stayed inside a public prefix.
    for (const url of reached) expect(url).toMatch(/^\/(auth|public)(\/|$|\?)/);
    if (status === 200) expect(reached).toHaveLength(1);
    else {
      expect([400, 401, 404]).toContain(status);
      expect(reached).toEqual([]);
    }
  });

  it('an encoded dot-dot out of /auth lands on /admin and is authorized there (401 without, 403 without the scope)', async () => {
    const reply = await send(stack, 'GET /auth/%2e%2e/admin/users HTTP/1.1');
    expect(statuses(reply)[0]).toBe(401);
    const token = hs256({ sub: 'user-7', scope: 'read' });
    const forbidden = await send(
      stack,
      'GET /auth/%2e%2e/admin/users HTTP/1.1',
      `Authorization: Bearer ${token}`,
    );
    expect(statuses(forbidden)[0]).toBe(403);
  });

  it('forwards the normalized path, the one that was authorized', async () => {
    const admin = hs256({ sub: 'root', scope: 'admin' });
    const reply = await send(
      stack,
      'GET /auth/x/../../admin//norm-1/./a?q=/../x HTTP/1.1',
      `Authorization: Bearer ${admin}`,
    );
    expect(statuses(reply)).toEqual([200, 200]);
    expect(seenFor(stack, '/admin/norm-1').map((r) => r.url)).toEqual(['/admin/norm-1/a?q=/../x']);
  });

  it('does not match a protected prefix as a substring of a public one, nor the reverse', async () => {
    const reply = await send(stack, 'GET /administrator HTTP/1.1');
    expect(statuses(reply)[0]).toBe(404);
    const pub = await send(stack, 'GET /publicity HTTP/1.1');
    expect(statuses(pub)[0]).toBe(404);
  });
});

/**
 * A protected route bound to one host beside a public catch-all: the host a request is routed by is
 * the one it names itself (Host), never a header an untrusted client adds.
 */
describe('host-bound routes', () => {
  let upstream: Upstream;
  let gw: RunningGateway;
  beforeAll(async () => {
    upstream = await startUpstream();
    gw = await startGateway(
      {
        logging: { level: 'warn', pretty: false, accessLog: false },
        services: { svc: { targets: [upstream.url], health: false } },
        routes: [
          { prefix: '/', host: 'admin.lucid.dev', service: 'svc', scopes: ['admin'], stripPrefix: false },
          { prefix: '/', service: 'svc', auth: 'public', stripPrefix: false },
        ],
      },
      [jwtAuth(AUTH)],
    );
  });
  afterAll(async () => {
    await gw?.close();
    await upstream?.close();
  });

  const hostCase = (line: string, ...headers: string[]) =>
    rawExchange(gw.port, head(line, ...headers, 'Connection: close'));

  it.each([
    ['Host: admin.lucid.dev'],
    ['Host: ADMIN.Lucid.Dev'],
    ['Host: admin.lucid.dev.'],
    ['Host: admin.lucid.dev:8443'],
  ])('routes %s to the protected route (401 without a token)', async (hostLine) => {
    const reply = await hostCase('GET /host-1 HTTP/1.1', hostLine);
    expect(statuses(reply)).toEqual([401]);
    expect(upstream.seen.filter((r) => r.url === '/host-1')).toEqual([]);
  });

  it('ignores X-Forwarded-Host and Forwarded from a client that is not a trusted proxy', async () => {
    const reply = await hostCase(
      'GET /host-2 HTTP/1.1',
      'Host: admin.lucid.dev',
      'X-Forwarded-Host: api.lucid.dev',
      'Forwarded: host=api.lucid.dev',
    );
    expect(statuses(reply)).toEqual([401]);
    const other = await hostCase(
      'GET /host-3 HTTP/1.1',
      'Host: api.lucid.dev',
      'X-Forwarded-Host: admin.lucid.dev',
    );
    expect(statuses(other)).toEqual([200]);
    const [seen] = upstream.seen.filter((r) => r.url === '/host-3');
    expect(seen!.headers['x-forwarded-host']).toBe('api.lucid.dev');
  });

  it('refuses an absolute-form target naming the protected host', async () => {
    const reply = await hostCase('GET http://admin.lucid.dev/host-4 HTTP/1.1', 'Host: api.lucid.dev');
    expect(statuses(reply)).toEqual([400]);
    expect(upstream.seen.filter((r) => r.url.includes('host-4'))).toEqual([]);
  });

  it('refuses a second Host naming the protected host', async () => {
    const reply = await hostCase('GET /host-5 HTTP/1.1', 'Host: api.lucid.dev', 'Host: admin.lucid.dev');
    expect(statuses(reply)).toEqual([400]);
    expect(upstream.seen.filter((r) => r.url === '/host-5')).toEqual([]);
  });
});
