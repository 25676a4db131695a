import { execFile } from 'node:child_process';
import { generateKeyPairSync, type KeyObject, sign } from 'node:crypto';
import { request } from 'node:http';
import { promisify } from 'node:util';
import { startJwksServer, startRedis, startUpstream, type Upstream, until } from '@lucid/test-kit';
import { CliProcess, ensureBuilt, tempProject } from '@lucid/test-kit/cli';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';

/**
 * SIGTERM to the CLI while hundreds of requests are held by a slow upstream: every one of them
 * finishes with its full answer, and the process exits 0. SIGTERM while requests wait on the
 * plugins' dependencies (a key-set refetch, a Redis reply): the plugins stay usable through the
 * drain, so those requests are answered 200 too.
 */

const cleanups: Array<() => unknown> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

beforeAll(ensureBuilt, 180_000);

interface Held {
  /** Two servers, as one gateway holds at most 256 connections to one target. */
  upstreams: Upstream[];
  /** Resolves once `n` requests are being held. */
  arrived(n: number): Promise<void>;
  release(): void;
}

/** Upstreams that read each request's body, then hold the answer until released. */
async function holdingUpstreams(): Promise<Held> {
  let release!: () => void;
  const released = new Promise<void>((r) => {
    release = r;
  });
  let count = 0;
  const waiters: Array<{ n: number; resolve: () => void }> = [];
  const start = () =>
    startUpstream(
      (_req, res, seen) => {
        count++;
        for (const w of waiters.filter((w) => count >= w.n)) w.resolve();
        void released.then(() => {
          const body = JSON.stringify({ url: seen.url, bytes: seen.bodyBytes });
          res.writeHead(200, {
            'content-type': 'application/json',
            'content-length': Buffer.byteLength(body),
          });
          res.end(body);
        });
      },
      { keepAliveTimeout: 60_000 },
    );
  const upstreams = [await start(), await start()];
  cleanups.push(() => Promise.all(upstreams.map((u) => u.close())));
  return {
    upstreams,
    arrived: (n) =>
      count >= n ? Promise.resolve() : new Promise<void>((resolve) => waiters.push({ n, resolve })),
    release,
  };
}

function call(
  port: number,
  path: string,
  body?: Buffer,
  extra: Record<string, string> = {},
): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: '127.0.0.1',
        port,
        path,
        method: body ? 'POST' : 'GET',
        agent: false,
        headers: { ...(body ? { 'content-length': body.length } : {}), ...extra },
      },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => {
          text += c;
        });
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text }));
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

describe('SIGTERM with hundreds of requests in flight', () => {
  it('finishes all of them, then exits 0', async () => {
    const held = await holdingUpstreams();
    const project = tempProject({
      'gateway.yaml': `
server: { host: 127.0.0.1, port: 0, timeouts: { shutdown: 60s } }
logging: { level: info, pretty: false, accessLog: false }
services: { slow: { targets: [${held.upstreams.map((u) => `"${u.url}"`).join(', ')}], timeout: 60s, health: false } }
routes: [{ prefix: /slow, service: slow, auth: public }]
`,
    });
    cleanups.push(() => project.cleanup());
    const cli = new CliProcess(['start', '--config', 'gateway.yaml'], { cwd: project.dir });
    cleanups.push(() => cli.stop());
    const port = await cli.port();

    const GETS = 250;
    const POSTS = 50;
    const body = Buffer.alloc(64 * 1024, 1);
    const pending = [
      ...Array.from({ length: GETS }, (_, i) => call(port, `/slow/get-${i}`)),
      ...Array.from({ length: POSTS }, (_, i) => call(port, `/slow/post-${i}`, body)),
    ];
    await held.arrived(GETS + POSTS);

    cli.signal('SIGTERM');
    await cli.waitFor('draining: finishing in-flight requests');
    held.release();

    const answers = await Promise.all(pending);
    expect(answers.filter((a) => a.status !== 200)).toEqual([]);
    expect(answers.slice(0, GETS).map((a) => JSON.parse(a.body).url)).toEqual(
      Array.from({ length: GETS }, (_, i) => `/get-${i}`),
    );
    for (const a of answers.slice(GETS)) expect(JSON.parse(a.body).bytes).toBe(body.length);
    expect(await cli.exited).toBe(0);
    expect(cli.lines.at(-1)).toMatchObject({ msg: 'stopped' });
    expect(held.upstreams.reduce((n, u) => n + u.seen.length, 0)).toBe(GETS + POSTS);
  }, 60_000);
});

const ISSUER = 'https://issuer.test/';
const AUDIENCE = 'lucid-api';

/** An RS256 key pair and its public JWK, made with node:crypto. */
function rsaKey(kid: string): { kid: string; privateKey: KeyObject; jwk: Record<string, unknown> } {
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  return { kid, privateKey, jwk: { ...publicKey.export({ format: 'jwk' }), kid, alg: 'RS256', use: 'sig' } };
}

function token(key: { kid: string; privateKey: KeyObject }, sub: string): string {
  const b64 = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url');
  const now = Math.floor(Date.now() / 1000);
  const input = `${b64({ alg: 'RS256', typ: 'JWT', kid: key.kid })}.${b64({ iss: ISSUER, aud: AUDIENCE, sub, iat: now, exp: now + 600 })}`;
  return `${input}.${sign('sha256', Buffer.from(input), key.privateKey).toString('base64url')}`;
}

const redisCli = promisify(execFile);

describe('SIGTERM while requests wait on plugins', () => {
  it('answers a request held by a key-set refetch and one held by Redis with 200, then exits 0', async () => {
    const upstream = await startUpstream();
    cleanups.push(() => upstream.close());
    const redis = await startRedis();
    cleanups.push(() => redis.stop());
    const rcli = (...args: string[]) => redisCli('redis-cli', ['-p', String(redis.port), ...args]);
    const oldKey = rsaKey('old');
    const newKey = rsaKey('new');
    const jwks = await startJwksServer([oldKey.jwk as never]);
    cleanups.push(() => jwks.close());
    const project = tempProject({
      'gateway.yaml': `
server: { host: 127.0.0.1, port: 0, timeouts: { shutdown: 30s } }
logging: { level: info, pretty: false, accessLog: false }
services: { api: { targets: ["${upstream.url}"], health: false } }
routes: [{ prefix: /api, service: api }]
auth:
  jwt: { issuer: "${ISSUER}", audience: ${AUDIENCE}, algorithms: [RS256], jwks: { uri: "${jwks.url}", cooldown: 0, timeout: 30s } }
rateLimit:
  store: redis
  onStoreError: closed
  keyBy: user
  tiers: { free: 100/hour }
  redis: { url: "${redis.url}", commandTimeout: 30s }
`,
    });
    cleanups.push(() => project.cleanup());
    const cli = new CliProcess(['start', '--config', 'gateway.yaml'], { cwd: project.dir });
    cleanups.push(() => cli.stop());
    const port = await cli.port();
    const bearer = (key: typeof oldKey, sub: string) => ({ authorization: `Bearer ${token(key, sub)}` });
    expect((await call(port, '/api/warm', undefined, bearer(oldKey, 'warm'))).status).toBe(200);

    // One request waits on a refetch of the key set (its token names a key not yet known) ...
    jwks.setKeys([oldKey.jwk as never, newKey.jwk as never]);
    jwks.mode = 'hold';
    const fetched = jwks.fetches;
    const onKeys = call(port, '/api/on-keys', undefined, bearer(newKey, 'new'));
    await jwks.waitForFetches(fetched + 1);
    // ... and one on a Redis reply (writes paused: the script is parked, the connection stays up).
    await rcli('CLIENT', 'PAUSE', '60000', 'WRITE');
    cleanups.push(() => rcli('CLIENT', 'UNPAUSE').catch(() => {}));
    const onRedis = call(port, '/api/on-redis', undefined, bearer(oldKey, 'redis'));
    await until(
      async () => (await rcli('INFO', 'clients')).stdout,
      (info) => /blocked_clients:[1-9]/.test(info),
    );

    cli.signal('SIGTERM');
    await cli.waitFor('draining: finishing in-flight requests');
    jwks.mode = 'ok';
    await rcli('CLIENT', 'UNPAUSE');

    const answers = await Promise.all([onKeys, onRedis]);
    expect(answers.map((a) => a.status)).toEqual([200, 200]);
    expect(await cli.exited).toBe(0);
    expect(cli.lines.at(-1)).toMatchObject({ msg: 'stopped' });
    // Leave, drain, then close: the plugins were closed after both answers, not before.
    expect(cli.lines.some((l) => l.msg === 'plugin close failed')).toBe(false);
    expect(upstream.seen.map((s) => s.url).sort()).toEqual(['/on-keys', '/on-redis', '/warm']);
  }, 60_000);
});
