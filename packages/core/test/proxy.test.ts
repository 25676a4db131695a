import { createHash, randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { request } from 'node:http';
import { Readable } from 'node:stream';
import {
  freePort,
  type RunningGateway,
  send,
  startGateway,
  startUpstream,
  type Upstream,
} from '@lucid/test-kit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const SERVICES = ['auth', 'blockchain', 'sessions', 'nodes', 'admin'] as const;

// One conformance suite, run against each engine that forwards plain HTTP.
describe.each(['undici', 'http-proxy'] as const)('proxy conformance (%s engine)', (engine) => {
  const upstreams: Record<string, Upstream> = {};
  let gw: RunningGateway;

  beforeAll(async () => {
    for (const name of SERVICES) upstreams[name] = await startUpstream();
    gw = await startGateway({
      server: { engine },
      services: Object.fromEntries(SERVICES.map((s) => [s, { targets: [upstreams[s]!.url] }])),
      routes: [
        ...SERVICES.map((s) => ({ prefix: `/${s}`, service: s })),
        { prefix: '/keep', service: 'nodes', stripPrefix: false },
        { prefix: '/readonly', service: 'nodes', methods: ['GET'] },
        { prefix: '/sessions/:id/logs', service: 'sessions', name: 'session-logs' },
      ],
    });
  });
  afterAll(async () => {
    await gw.close();
    await Promise.all(Object.values(upstreams).map((u) => u.close()));
  });

  for (const service of SERVICES) {
    for (const method of ['GET', 'POST', 'PUT', 'PATCH', 'DELETE']) {
      it(`routes ${method} /${service} with body and query intact`, async () => {
        const body = method === 'GET' ? undefined : JSON.stringify({ hello: service, method });
        const res = await send(`${gw.url}/${service}/v1/items?x=1&y=a%20b&z=%2F`, {
          method,
          ...(body && { body, headers: { 'content-type': 'application/json' } }),
        });
        expect(res.status).toBe(200);
        const seen = res.json<{ method: string; url: string; bodySha256: string }>();
        expect(seen.method).toBe(method);
        expect(seen.url).toBe('/v1/items?x=1&y=a%20b&z=%2F');
        if (body) expect(seen.bodySha256).toBe(createHash('sha256').update(body).digest('hex'));
        expect(res.headers['x-request-id']).toBeTruthy();
      });
    }
  }

  it('streams a multi-megabyte body both ways, hash-compared', async () => {
    const payload = randomBytes(8 * 1024 * 1024);
    const res = await send(`${gw.url}/blockchain/blocks`, { method: 'POST', body: payload });
    expect(res.status).toBe(200);
    const seen = res.json<{ bodyBytes: number; bodySha256: string }>();
    expect(seen.bodyBytes).toBe(payload.length);
    expect(seen.bodySha256).toBe(createHash('sha256').update(payload).digest('hex'));
  });

  it('strips the prefix by default and keeps it when told', async () => {
    expect((await send(`${gw.url}/auth`)).json().url).toBe('/');
    expect((await send(`${gw.url}/auth/login`)).json().url).toBe('/login');
    expect((await send(`${gw.url}/keep/a/b`)).json().url).toBe('/keep/a/b');
  });

  it('routes :param segments', async () => {
    expect((await send(`${gw.url}/sessions/abc/logs/tail`)).json().url).toBe('/tail');
  });

  it('answers 404 and 405 as problem+json', async () => {
    const notFound = await send(`${gw.url}/nope`);
    expect(notFound.status).toBe(404);
    expect(notFound.headers['content-type']).toBe('application/problem+json');
    expect(notFound.json()).toMatchObject({ status: 404, code: 'GW_ROUTE_NOT_FOUND' });
    expect(notFound.json().requestId).toBe(notFound.headers['x-request-id']);
    const wrongMethod = await send(`${gw.url}/readonly/x`, { method: 'DELETE' });
    expect(wrongMethod.status).toBe(405);
    expect(wrongMethod.headers.allow).toBe('GET, HEAD');
    // a prefix is matched on segment boundaries only
    expect((await send(`${gw.url}/administrator`)).status).toBe(404);
  });

  it('routes the normalized path: /auth/../admin/x is /admin/x', async () => {
    const before = upstreams.admin!.seen.length;
    const res = await send(`${gw.url}/auth/../admin/x`);
    expect(res.status).toBe(200);
    expect(res.json().url).toBe('/x');
    expect(upstreams.admin!.seen.length).toBe(before + 1);
    expect((await send(`${gw.url}/auth/%2e%2e/admin/y`)).json().url).toBe('/y');
  });

  it.each(['/admin%2fx', '/admin/%5c/x', '/admin/a%00b', '/admin/a;b', '/../admin'])(
    'rejects the ambiguous path %s with 400',
    async (path) => {
      const res = await send(`${gw.url}${path}`);
      expect(res.status).toBe(400);
      expect(res.json().code).toBe('GW_BAD_PATH');
    },
  );

  it('strips hop-by-hop headers and the ones named in Connection', async () => {
    const res = await send(`${gw.url}/nodes/x`, {
      headers: {
        connection: 'keep-alive, x-secret',
        'x-secret': 'leak',
        'keep-alive': 'timeout=5',
        te: 'gzip, Trailers',
        'x-kept': 'yes',
      },
    });
    const { headers } = res.json<{ headers: Record<string, string> }>();
    expect(headers['x-secret']).toBeUndefined();
    expect(headers['keep-alive']).toBeUndefined();
    // TE is hop-by-hop; only "trailers" (the client reads trailers, as gRPC needs) is passed on.
    expect(headers.te).toBe('trailers');
    expect(headers['x-kept']).toBe('yes');
    for (const te of ['gzip, deflate', 'trailers;q=0', 'x-trailers']) {
      const other = await send(`${gw.url}/nodes/x`, { headers: { te } });
      expect(other.json<{ headers: Record<string, string> }>().headers.te, te).toBeUndefined();
    }
  });

  it('replaces X-Forwarded-For from an untrusted client and sets the other forwarding headers', async () => {
    const res = await send(`${gw.url}/nodes/x`, {
      headers: {
        'x-forwarded-for': '6.6.6.6',
        'x-forwarded-proto': 'https',
        'x-forwarded-host': 'evil.example',
        'x-real-ip': '6.6.6.6',
      },
    });
    const { headers } = res.json<{ headers: Record<string, string> }>();
    expect(headers['x-forwarded-for']).toBe('127.0.0.1');
    expect(headers['x-forwarded-proto']).toBe('http');
    expect(headers['x-forwarded-host']).toBe(`127.0.0.1:${gw.port}`);
    expect(headers['x-real-ip']).toBeUndefined();
    expect(headers.host).toBe(new URL(upstreams.nodes!.url).host);
    expect(headers['x-request-id']).toBe(res.headers['x-request-id']);
    expect(headers.traceparent).toMatch(/^00-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}$/);
  });

  it('leaves Location of a redirect intact', async () => {
    const redirecting = await startUpstream((_req, res) => {
      res.writeHead(302, { location: 'http://elsewhere.example/next?a=1' });
      res.end();
    });
    const g = await startGateway({
      server: { engine },
      services: { r: { targets: [redirecting.url] } },
      routes: [{ prefix: '/r', service: 'r' }],
    });
    try {
      const res = await send(`${g.url}/r/go`);
      expect(res.status).toBe(302);
      expect(res.headers.location).toBe('http://elsewhere.example/next?a=1');
    } finally {
      await g.close();
      await redirecting.close();
    }
  });
});

describe.each(['undici', 'http-proxy'] as const)('trusted proxies (%s engine)', (engine) => {
  it('appends to X-Forwarded-For only from a trusted CIDR and takes the client from it', async () => {
    const up = await startUpstream();
    const g = await startGateway({
      server: { engine, trustProxy: ['127.0.0.0/8'] },
      services: { s: { targets: [up.url] } },
      routes: [{ prefix: '/s', service: 's' }],
    });
    try {
      const res = await send(`${g.url}/s`, {
        headers: { 'x-forwarded-for': '203.0.113.9', 'x-forwarded-proto': 'https' },
      });
      const { headers } = res.json<{ headers: Record<string, string> }>();
      expect(headers['x-forwarded-for']).toBe('203.0.113.9, 127.0.0.1');
      expect(headers['x-forwarded-proto']).toBe('https');
      const line = g.logs.find((l) => l.msg === 'request');
      expect(line?.ip).toBe('203.0.113.9');
    } finally {
      await g.close();
      await up.close();
    }
  });
});

describe.each(['undici', 'http-proxy'] as const)('upstream failures (%s engine)', (engine) => {
  it('maps a refused connection to 503', async () => {
    const port = await freePort();
    const g = await startGateway({
      server: { engine },
      services: { down: { targets: [`http://127.0.0.1:${port}`], retry: { attempts: 0 } } },
      routes: [{ prefix: '/down', service: 'down' }],
    });
    try {
      const res = await send(`${g.url}/down`);
      expect(res.status).toBe(503);
      expect(res.json().code).toBe('GW_UPSTREAM_UNAVAILABLE');
      expect(res.text).not.toContain(String(port));
    } finally {
      await g.close();
    }
  });

  it('maps a DNS failure to 503', async () => {
    const g = await startGateway({
      server: { engine },
      services: { nx: { targets: ['http://no-such-host.invalid:80'], retry: { attempts: 0 } } },
      routes: [{ prefix: '/nx', service: 'nx' }],
    });
    try {
      expect((await send(`${g.url}/nx`)).status).toBe(503);
    } finally {
      await g.close();
    }
  });

  it('maps a slow upstream to 504 and destroys the upstream request', async () => {
    let upstreamClosed: Promise<unknown> = Promise.resolve();
    const slow = await startUpstream((req) => {
      upstreamClosed = once(req.socket, 'close');
    });
    const g = await startGateway({
      server: { engine },
      services: { slow: { targets: [slow.url], timeout: '200ms', retry: { attempts: 0 } } },
      routes: [{ prefix: '/slow', service: 'slow' }],
    });
    try {
      const res = await send(`${g.url}/slow`);
      expect(res.status).toBe(504);
      expect(res.json().code).toBe('GW_UPSTREAM_TIMEOUT');
      await upstreamClosed;
    } finally {
      await g.close();
      await slow.close();
    }
  });

  it('maps a connection reset before any answer to 502', async () => {
    const resetting = await startUpstream((req) => req.socket.destroy());
    const g = await startGateway({
      server: { engine },
      services: { r: { targets: [resetting.url], retry: { attempts: 0 } } },
      routes: [{ prefix: '/r', service: 'r' }],
    });
    try {
      const res = await send(`${g.url}/r`, { method: 'POST', body: 'x' });
      expect(res.status).toBe(502);
      expect(res.json().code).toBe('GW_UPSTREAM_ERROR');
    } finally {
      await g.close();
      await resetting.close();
    }
  });

  it('turns a reset mid-response into an aborted client connection, never a complete-looking body', async () => {
    const cutting = await startUpstream((_req, res) => {
      res.writeHead(200, { 'content-length': '1000' });
      res.write('x'.repeat(100), () => res.socket?.destroy());
    });
    const chunkedCut = await startUpstream((_req, res) => {
      res.writeHead(200);
      res.write('x'.repeat(100), () => res.socket?.destroy());
    });
    const g = await startGateway({
      server: { engine },
      services: { c: { targets: [cutting.url] }, d: { targets: [chunkedCut.url] } },
      routes: [
        { prefix: '/c', service: 'c' },
        { prefix: '/d', service: 'd' },
      ],
    });
    try {
      await expect(send(`${g.url}/c`)).rejects.toThrow();
      await expect(send(`${g.url}/d`)).rejects.toThrow();
    } finally {
      await g.close();
      await cutting.close();
      await chunkedCut.close();
    }
  });

  it('aborts the upstream request when the client aborts', async () => {
    let upstreamGone!: () => void;
    const gone = new Promise<void>((r) => {
      upstreamGone = r;
    });
    let reached!: () => void;
    const arrived = new Promise<void>((r) => {
      reached = r;
    });
    const hanging = await startUpstream((_req, res) => {
      res.on('close', () => upstreamGone());
      reached();
    });
    const g = await startGateway({
      server: { engine },
      services: { h: { targets: [hanging.url] } },
      routes: [{ prefix: '/h', service: 'h' }],
    });
    try {
      const req = request(`${g.url}/h`, { agent: false });
      req.on('error', () => {});
      req.end();
      await arrived;
      req.destroy();
      await gone;
      expect(hanging.seen).toHaveLength(1);
    } finally {
      await g.close();
      await hanging.close();
    }
  });
});

describe('graceful close', () => {
  it('lets an in-flight slow request finish, then closes', async () => {
    let release!: () => void;
    let reached!: () => void;
    const arrived = new Promise<void>((r) => {
      reached = r;
    });
    const slow = await startUpstream((_req, res) => {
      release = () => res.end('done');
      reached();
    });
    const g = await startGateway({
      services: { s: { targets: [slow.url] } },
      routes: [{ prefix: '/s', service: 's' }],
    });
    try {
      const pending = send(`${g.url}/s`);
      await arrived;
      const closing = g.gateway.close({ graceMs: 10_000 });
      expect(g.gateway.ready).toBe(false);
      release();
      const res = await pending;
      expect(res.status).toBe(200);
      expect(res.text).toBe('done');
      await closing;
      await expect(send(`${g.url}/s`)).rejects.toThrow();
    } finally {
      await slow.close();
    }
  });
});

describe('streaming', () => {
  it('forwards a 256 MB upload without holding it in memory', async () => {
    const sink = await startUpstream();
    const g = await startGateway({
      services: { s: { targets: [sink.url] } },
      routes: [{ prefix: '/s', service: 's' }],
      server: { limits: { body: '300mb' } },
    });
    try {
      const chunk = randomBytes(64 * 1024);
      const total = 256 * 1024 * 1024;
      let sent = 0;
      const hash = createHash('sha256');
      const body = new Readable({
        read() {
          if (sent >= total) return this.push(null);
          sent += chunk.length;
          hash.update(chunk);
          this.push(chunk);
        },
      });
      const before = process.memoryUsage().rss;
      let peak = before;
      const sampler = setInterval(() => {
        peak = Math.max(peak, process.memoryUsage().rss);
      }, 5);
      const res = await send(`${g.url}/s/upload`, {
        method: 'POST',
        body,
        headers: { 'content-length': String(total) },
      });
      clearInterval(sampler);
      expect(res.status).toBe(200);
      expect(res.json<{ bodyBytes: number }>().bodyBytes).toBe(total);
      expect(res.json<{ bodySha256: string }>().bodySha256).toBe(hash.digest('hex'));
      // Buffering would cost at least the body's size; streaming costs a few socket buffers (plus GC lag).
      expect(peak - before).toBeLessThan(100 * 1024 * 1024);
    } finally {
      await g.close();
      await sink.close();
    }
  });
});
