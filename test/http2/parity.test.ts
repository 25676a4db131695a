import { createHmac } from 'node:crypto';
import type { ClientHttp2Session, IncomingHttpHeaders, OutgoingHttpHeaders } from 'node:http2';
import { Readable } from 'node:stream';
import { jwtAuth } from '@lucid/middleware-auth';
import { rateLimit } from '@lucid/middleware-ratelimit';
import {
  h2Connect,
  h2Request,
  type RunningGateway,
  type SeenRequest,
  type ServerCertificate,
  send,
  serverCertificate,
  startGateway,
  startUpstream,
  type Upstream,
} from '@lucid/test-kit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

// One suite, four ways in: whatever the client speaks, the gateway's answer is the same.

const SECRET = 'parity-secret-that-is-long-enough-for-hs256!!';

function token(claims: Record<string, unknown>): string {
  const b64 = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url');
  const now = Math.floor(Date.now() / 1000);
  const body = `${b64({ alg: 'HS256', typ: 'JWT' })}.${b64({ iss: 'lucid-auth', aud: 'lucid-api', iat: now, exp: now + 600, ...claims })}`;
  return `${body}.${createHmac('sha256', SECRET).update(body).digest('base64url')}`;
}

interface Answer {
  status: number;
  headers: IncomingHttpHeaders;
  body: Buffer;
  json(): Record<string, unknown>;
}

type Transport = 'http/1.1' | 'h2c' | 'https http/1.1' | 'https h2';
const TRANSPORTS: Transport[] = ['http/1.1', 'h2c', 'https http/1.1', 'https h2'];

let cert: ServerCertificate;
let upstream: Upstream;
beforeAll(async () => {
  cert = await serverCertificate();
  upstream = await startUpstream();
});
afterAll(async () => {
  await upstream.close();
  await cert.close();
});

describe.each(TRANSPORTS)('the same requests over %s', (transport) => {
  const tls = transport.startsWith('https');
  const h2 = transport.endsWith('h2') || transport === 'h2c';
  let gw: RunningGateway;
  let session: ClientHttp2Session | undefined;

  const ask = async (
    path: string,
    opts: { method?: string; headers?: OutgoingHttpHeaders; body?: string | Buffer } = {},
  ): Promise<Answer> => {
    const url = `${gw.url}${path}`;
    const r = h2
      ? await h2Request(url, { ...opts, session })
      : await send(url, { ...opts, ...(tls && { ca: cert.ca }) });
    return { status: r.status, headers: r.headers, body: r.body, json: () => JSON.parse(r.body.toString()) };
  };
  const seen = (a: Answer) => a.json() as unknown as SeenRequest;

  beforeAll(async () => {
    gw = await startGateway(
      {
        logging: { level: 'silent', pretty: false, accessLog: false },
        server: {
          ...(tls && { tls: { cert: cert.certFile, key: cert.keyFile } }),
          limits: { body: '512kb' },
          cors: { origins: ['https://app.lucid.dev'] },
        },
        services: {
          api: { targets: [upstream.url] },
          gone: { targets: ['http://127.0.0.1:1'], retry: { attempts: 0 }, health: false },
        },
        routes: [
          { prefix: '/api', service: 'api', auth: 'public' },
          { prefix: '/readonly', service: 'api', auth: 'public', methods: ['GET'] },
          { prefix: '/secure', service: 'api', scopes: ['admin'] },
          { prefix: '/limited', service: 'api', auth: 'public', rateLimit: '2/hour' },
          { prefix: '/gone', service: 'gone', auth: 'public' },
        ],
      },
      [
        jwtAuth({ jwt: { secret: SECRET, issuer: 'lucid-auth', audience: 'lucid-api' } }),
        rateLimit({ tiers: { free: '1000/hour' } }),
      ],
    );
    if (h2) session = await h2Connect(new URL(gw.url).origin, tls ? cert.ca : undefined);
  });
  afterAll(async () => {
    session?.close();
    await gw.close();
  });

  it('forwards a GET with the gateway-owned headers set and the client-sent ones dropped', async () => {
    const res = await ask('/api/items?page=2', {
      headers: {
        'x-user-id': 'admin',
        'x-forwarded-for': '6.6.6.6',
        'x-custom': 'kept',
        'x-request-id': 'req-parity-1',
      },
    });
    expect(res.status).toBe(200);
    expect(res.headers['x-request-id']).toBe('req-parity-1');
    const s = seen(res);
    expect(s.url).toBe('/items?page=2');
    expect(s.method).toBe('GET');
    expect(s.headers['x-custom']).toBe('kept');
    expect(s.headers['x-user-id']).toBeUndefined();
    expect(s.headers['x-forwarded-for']).toBe('127.0.0.1');
    expect(s.headers['x-forwarded-proto']).toBe(tls ? 'https' : 'http');
    expect(s.headers['x-forwarded-host']).toBe(new URL(gw.url).host);
    expect(s.headers.host).toBe(new URL(upstream.url).host);
    expect(Object.keys(s.headers).filter((n) => n.startsWith(':'))).toEqual([]);
    expect(s.headers['x-request-id']).toBe('req-parity-1');
  });

  it('forwards a small body and a large one, byte for byte', async () => {
    for (const size of [5, 300 * 1024]) {
      const body = Buffer.alloc(size, 'p');
      const res = await ask('/api/upload', {
        method: 'POST',
        body,
        headers: { 'content-type': 'application/octet-stream' },
      });
      expect(res.status).toBe(200);
      expect(seen(res).bodyBytes).toBe(size);
      expect(seen(res).method).toBe('POST');
    }
  });

  it('answers a declared body over limits.body with 413 and never forwards it', async () => {
    const before = upstream.seen.length;
    const body = Buffer.alloc(600 * 1024, 'x');
    const res = await ask('/api/upload', {
      method: 'POST',
      body,
      headers: { 'content-length': body.length },
    });
    expect(res.status).toBe(413);
    expect(res.json()).toMatchObject({ code: 'GW_BODY_TOO_LARGE' });
    expect(upstream.seen.length).toBe(before);
  });

  it('cuts a body without a declared length at limits.body: 413, and the upstream never gets it whole', async () => {
    const body = Buffer.alloc(600 * 1024, 'y');
    const res = h2
      ? await ask('/api/upload-unsized', { method: 'POST', body })
      : await send(`${gw.url}/api/upload-unsized`, {
          method: 'POST',
          body: Readable.from([body]),
          ...(tls && { ca: cert.ca }),
        });
    expect(res.status).toBe(413);
    expect(upstream.seen.filter((s) => s.url === '/upload-unsized' && s.bodyBytes === body.length)).toEqual(
      [],
    );
  });

  it('refuses what routing refuses: unknown path, wrong method, TRACE', async () => {
    const missing = await ask('/nothing/here');
    expect(missing.status).toBe(404);
    expect(missing.json()).toMatchObject({ code: 'GW_ROUTE_NOT_FOUND' });
    const wrong = await ask('/readonly/x', { method: 'DELETE' });
    expect(wrong.status).toBe(405);
    expect(wrong.headers.allow).toContain('GET');
    expect((await ask('/api/x', { method: 'TRACE' })).status).toBe(405);
  });

  it('normalizes the path before routing and authorizing', async () => {
    const res = await ask('/api/../secure/x');
    expect(res.status).toBe(401);
    const encoded = await ask('/api/%2e%2e/secure/x');
    expect([400, 401]).toContain(encoded.status);
    expect(upstream.seen.some((s) => s.url.includes('secure'))).toBe(false);
  });

  it('authenticates: no token 401, a token without the scope 403, a good one forwards the identity', async () => {
    const none = await ask('/secure/x');
    expect(none.status).toBe(401);
    expect(none.headers['www-authenticate']).toMatch(/^Bearer /);
    const weak = await ask('/secure/x', {
      headers: { authorization: `Bearer ${token({ sub: 'u1', scope: 'read' })}` },
    });
    expect(weak.status).toBe(403);
    expect(weak.json()).toMatchObject({ code: 'GW_FORBIDDEN' });
    const good = await ask('/secure/x', {
      headers: { authorization: `Bearer ${token({ sub: 'u1', scope: 'admin' })}` },
    });
    expect(good.status).toBe(200);
    expect(seen(good).headers['x-user-id']).toBe('u1');
    expect(seen(good).headers.authorization).toBeDefined();
  });

  it('rate limits: the third request of a 2/hour tier is a 429 with Retry-After', async () => {
    const statuses: number[] = [];
    let last: Answer | undefined;
    for (let i = 0; i < 3; i++) {
      last = await ask('/limited/x');
      statuses.push(last.status);
    }
    expect(statuses).toEqual([200, 200, 429]);
    expect(Number(last!.headers['retry-after'])).toBeGreaterThan(0);
    expect(last!.json()).toMatchObject({ code: 'GW_RATE_LIMITED' });
  });

  it('a service that cannot be reached is a 503 problem', async () => {
    const res = await ask('/gone/x');
    expect(res.status).toBe(503);
    expect(res.json()).toMatchObject({ code: 'GW_UPSTREAM_UNAVAILABLE' });
  });

  it('answers a CORS preflight for an allowed origin and refuses another', async () => {
    const headers = { origin: 'https://app.lucid.dev', 'access-control-request-method': 'POST' };
    const ok = await ask('/api/x', { method: 'OPTIONS', headers });
    expect(ok.status).toBe(204);
    expect(ok.headers['access-control-allow-origin']).toBe('https://app.lucid.dev');
    const other = await ask('/api/x', {
      method: 'OPTIONS',
      headers: { ...headers, origin: 'https://evil.example' },
    });
    expect(other.headers['access-control-allow-origin']).toBeUndefined();
  });

  it('serves the built-ins', async () => {
    const ready = await ask('/health/ready');
    expect(ready.status).toBe(200);
    const metrics = await ask('/metrics');
    expect(metrics.status).toBe(200);
    expect(metrics.body.toString()).toContain('lucid_gateway_http_requests_total');
  });
});
