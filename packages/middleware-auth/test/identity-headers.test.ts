import type { IncomingHttpHeaders } from 'node:http';
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

  it('configured forward headers are the ones owned (and stripped)', async () => {
    stack = await startAuthStack({ ...auth, forward: { 'x-account': 'sub', 'x-plan': 'tier' } }, { engine });
    await stack.get('/api/me', {
      ...bearer(token),
      'x-account': 'forged',
      'x-plan': 'forged',
      'x-user-id': 'passes',
    });
    const seen = stack.proxied().at(-1)!;
    expect(seen.headers['x-account']).toBe('user-7');
    expect(seen.headers['x-plan']).toBe('free');
    // No longer an identity header in this config, so it is the client's own business.
    expect(seen.headers['x-user-id']).toBe('passes');
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
