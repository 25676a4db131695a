import { once } from 'node:events';
import type { IncomingHttpHeaders } from 'node:http';
import { createServer as createH2Server } from 'node:http2';
import type { AddressInfo } from 'node:net';
import { h2Connect, h2Request } from '@lucid/test-kit';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import WebSocket, { WebSocketServer } from 'ws';
import { AUDIENCE, ISSUER, SECRET, secretBytes, sign } from './helpers/keys.js';
import { type AuthStack, bearer, startAuthStack } from './helpers/stack.js';

const auth = { jwt: { secret: SECRET, issuer: ISSUER, audience: AUDIENCE } };
// Every spelling a client might use to smuggle an identity, including repeats.
const FORGED = {
  'X-User-Id': ['admin', 'root'],
  'x-user-tier': 'enterprise',
  'X-USER-SCOPES': 'admin',
};

let token: string;
beforeAll(async () => {
  token = await sign(secretBytes(), 'HS256', { claims: { sub: 'user-7', tier: 'free', scope: 'read' } });
});

let stack: AuthStack | undefined;
afterEach(async () => {
  await stack?.close();
  stack = undefined;
});

describe.each(['undici', 'http-proxy'] as const)('identity headers (%s engine)', (engine) => {
  it('on a protected route the upstream sees only the verified claims', async () => {
    stack = await startAuthStack(auth, { engine });
    const res = await stack.get('/api/me', { ...bearer(token), ...FORGED });
    expect(res.status).toBe(200);
    const seen = stack.proxied().at(-1)!;
    expect(seen.headers['x-user-id']).toBe('user-7');
    expect(seen.headers['x-user-tier']).toBe('free');
    expect(seen.headers['x-user-scopes']).toBe('read');
    expect(seen.rawHeaders.filter((h) => h.toLowerCase() === 'x-user-id')).toHaveLength(1);
    expect(seen.rawHeaders).not.toContain('admin');
    expect(seen.rawHeaders).not.toContain('enterprise');
    // The token itself still reaches the upstream (it may want it); only identity headers are owned.
    expect(seen.headers.authorization).toBe(`Bearer ${token}`);
  });

  it('a claim the token lacks is not filled in from the client', async () => {
    stack = await startAuthStack(auth, { engine });
    const bare = await sign(secretBytes(), 'HS256', {
      claims: { sub: 'user-8', tier: undefined, scope: undefined },
    });
    expect((await stack.get('/api/me', { ...bearer(bare), ...FORGED })).status).toBe(200);
    const seen = stack.proxied().at(-1)!;
    expect(seen.headers['x-user-id']).toBe('user-8');
    expect(seen.headers['x-user-tier']).toBeUndefined();
    expect(seen.headers['x-user-scopes']).toBeUndefined();
  });

  it('on a public route forged headers are deleted and a sent token is not trusted for identity', async () => {
    stack = await startAuthStack(auth, { engine });
    const res = await stack.get('/public/page', { ...bearer(token), ...FORGED });
    expect(res.status).toBe(200);
    const seen = stack.proxied().at(-1)!;
    expect(seen.headers['x-user-id']).toBeUndefined();
    expect(seen.headers['x-user-tier']).toBeUndefined();
    expect(seen.headers['x-user-scopes']).toBeUndefined();
  });

  it('a public route ignores an invalid token instead of refusing it', async () => {
    stack = await startAuthStack(auth, { engine });
    expect((await stack.get('/public/page', bearer('not.a.token'))).status).toBe(200);
  });

  it('configured forward headers are owned (and stripped) besides the defaults, never instead', async () => {
    stack = await startAuthStack({ ...auth, forward: { 'x-account': 'sub', 'x-plan': 'tier' } }, { engine });
    for (const path of ['/api/me', '/public/page']) {
      await stack.get(path, { ...bearer(token), 'x-account': 'forged', 'x-plan': 'forged', ...FORGED });
    }
    const [onProtected, onPublic] = stack.proxied();
    expect(onProtected!.headers['x-account']).toBe('user-7');
    expect(onProtected!.headers['x-plan']).toBe('free');
    expect(onPublic!.headers['x-account']).toBeUndefined();
    expect(onPublic!.headers['x-plan']).toBeUndefined();
    // Declaring headers of its own never hands core's defaults back to the client.
    for (const seen of [onProtected!, onPublic!]) {
      expect(seen.headers['x-user-id']).toBeUndefined();
      expect(seen.headers['x-user-tier']).toBeUndefined();
      expect(seen.headers['x-user-scopes']).toBeUndefined();
    }
  });
});

describe('identity headers on a WebSocket upgrade', () => {
  it('the upstream handshake carries the verified claims, not the forged ones', async () => {
    stack = await startAuthStack(auth);
    const handshakes: IncomingHttpHeaders[] = [];
    const wss = new WebSocketServer({ server: stack.upstream.server });
    wss.on('connection', (ws, req) => {
      handshakes.push(req.headers);
      ws.close();
    });
    try {
      const ws = new WebSocket(`ws://127.0.0.1:${stack.gateway.port}/api/socket`, {
        headers: { ...bearer(token), ...FORGED },
      });
      await new Promise<void>((resolve, reject) => {
        ws.on('close', () => resolve());
        ws.on('error', reject);
      });
      expect(handshakes).toHaveLength(1);
      expect(handshakes[0]!['x-user-id']).toBe('user-7');
      expect(handshakes[0]!['x-user-tier']).toBe('free');

      const refused = new WebSocket(`ws://127.0.0.1:${stack.gateway.port}/api/socket`, { headers: FORGED });
      // terminate() during the handshake reports an error by design; the status is what matters.
      refused.on('error', () => {});
      const status = await new Promise<number>((resolve, reject) => {
        refused.on('unexpected-response', (_req, res) => {
          resolve(res.statusCode ?? 0);
          res.resume();
          refused.terminate();
        });
        refused.on('open', () => reject(new Error('opened without a token')));
      });
      expect(status).toBe(401);
      expect(handshakes).toHaveLength(1);
    } finally {
      for (const c of wss.clients) c.terminate();
      await new Promise<void>((resolve) => wss.close(() => resolve()));
    }
  });
});

describe('forged identity headers whatever auth.forward says', () => {
  const forwards: (Record<string, string> | undefined)[] = [undefined, { 'x-subject': 'sub' }, {}];

  it.each(forwards.map((f) => [JSON.stringify(f), f] as const))(
    "never reach an HTTP/2 client's upstream, HTTP/1.1 or h2c (forward %s)",
    async (_name, forward) => {
      const h2Seen: IncomingHttpHeaders[] = [];
      const h2 = createH2Server((req, res) => {
        h2Seen.push(req.headers);
        res.end('ok');
      });
      h2.listen(0, '127.0.0.1');
      await once(h2, 'listening');
      const h2Target = `h2c://127.0.0.1:${(h2.address() as AddressInfo).port}`;
      stack = await startAuthStack(
        { ...auth, ...(forward !== undefined && { forward }) },
        {
          routes: [
            { prefix: '/api', service: 'api' },
            { prefix: '/public', service: 'api', auth: 'public' },
            { prefix: '/h2', service: 'h2' },
            { prefix: '/h2open', service: 'h2', auth: 'public' },
          ],
          services: { h2: { targets: [h2Target] } },
        },
      );
      const forged = {
        'x-user-id': 'admin',
        'x-user-tier': 'enterprise',
        'x-user-scopes': 'admin',
        'x-subject': 'root',
      };
      const session = await h2Connect(stack.gateway.url);
      try {
        for (const path of ['/api/x', '/public/x', '/h2/x', '/h2open/x']) {
          const res = await h2Request(`${stack.gateway.url}${path}`, {
            session,
            headers: { ...bearer(token), ...forged },
          });
          expect(res.status).toBe(200);
          // HTTP/1.1 as well, with every header repeated.
          const again = await stack.get(path, {
            ...bearer(token),
            ...FORGED,
            'X-Subject': ['root', 'root2'],
          });
          expect(again.status).toBe(200);
        }
      } finally {
        session.close();
        await new Promise<void>((resolve) => h2.close(() => resolve()));
      }
      const all = [...stack.proxied().map((r) => r.headers), ...h2Seen];
      expect(all).toHaveLength(8);
      for (const headers of all) {
        for (const name of ['x-user-id', 'x-user-tier', 'x-user-scopes']) {
          // Only what the gateway set from the verified token, when the config forwards it.
          expect([undefined, 'user-7', 'free', 'read']).toContain(headers[name]);
        }
        // Not an identity header unless this config forwards it.
        if (forward?.['x-subject']) expect([undefined, 'user-7']).toContain(headers['x-subject']);
      }
    },
  );

  it('never reach a WebSocket upstream when auth.forward names headers of its own', async () => {
    stack = await startAuthStack({ ...auth, forward: { 'x-subject': 'sub' } });
    const handshakes: IncomingHttpHeaders[] = [];
    const wss = new WebSocketServer({ server: stack.upstream.server });
    wss.on('connection', (ws, req) => {
      handshakes.push(req.headers);
      ws.close();
    });
    try {
      for (const [path, headers] of [
        ['/api/socket', { ...bearer(token), ...FORGED, 'x-subject': 'root' }],
        ['/public/socket', { ...FORGED, 'x-subject': 'root' }],
      ] as const) {
        const ws = new WebSocket(`ws://127.0.0.1:${stack.gateway.port}${path}`, { headers });
        await new Promise<void>((resolve, reject) => {
          ws.on('close', () => resolve());
          ws.on('error', reject);
        });
      }
      expect(handshakes).toHaveLength(2);
      expect(handshakes[0]!['x-subject']).toBe('user-7');
      expect(handshakes[1]!['x-subject']).toBeUndefined();
      for (const h of handshakes) {
        expect(h['x-user-id']).toBeUndefined();
        expect(h['x-user-tier']).toBeUndefined();
        expect(h['x-user-scopes']).toBeUndefined();
      }
    } finally {
      for (const c of wss.clients) c.terminate();
      await new Promise<void>((resolve) => wss.close(() => resolve()));
    }
  });
});
