import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { type RedisServer, send, startRedis } from '@lucid/test-kit';
import { ensureBuilt } from '@lucid/test-kit/cli';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RunningService, startServices } from '../demo/services/index.mjs';

const here = fileURLToPath(new URL('.', import.meta.url));
const bin = fileURLToPath(new URL('../../packages/cli/dist/bin.js', import.meta.url));
const run = promisify(execFile);

const URL_VARS = {
  auth: 'AUTH_SERVICE_URL',
  blockchain: 'BLOCKCHAIN_ENGINE_URL',
  sessions: 'SESSION_API_URL',
  nodes: 'NODE_MANAGEMENT_URL',
  admin: 'ADMIN_INTERFACE_URL',
} as const;

// Runs the example as its README says (from its folder, the config found by name, --env-file),
// against the demo's stand-in services and a real redis-server, with the built CLI.
describe('examples/standalone', () => {
  const secret = randomBytes(32).toString('base64url');
  let services: Record<keyof typeof URL_VARS, RunningService> | undefined;
  let redis: RedisServer | undefined;
  let gateway: ChildProcess | undefined;
  let exited: Promise<unknown[]>;
  let base: string;
  let admin: string;

  beforeAll(async () => {
    await ensureBuilt();
    services = await startServices({ secret });
    redis = await startRedis();
    const env: Record<string, string> = {
      ...process.env,
      PORT: '0',
      ADMIN_PORT: '0',
      JWT_SECRET_KEY: secret,
      REDIS_URL: redis.url,
    } as Record<string, string>;
    for (const [name, variable] of Object.entries(URL_VARS))
      env[variable] = services[name as keyof typeof URL_VARS].url;
    gateway = spawn(process.execPath, [bin, 'start', '--env-file', '.env.core.example'], {
      cwd: here,
      env,
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    exited = once(gateway, 'exit');
    let out = '';
    const port = await new Promise<string>((resolve, reject) => {
      gateway!.stdout!.setEncoding('utf8').on('data', (c: string) => {
        out += c;
        const m = /"port":(\d+)[^\n]*"msg":"gateway listening"/.exec(out);
        const a = /"port":(\d+)[^\n]*"msg":"admin listener"/.exec(out);
        if (m && a) {
          admin = `http://127.0.0.1:${a[1]}`;
          resolve(m[1]!);
        }
      });
      exited.then(([code]) => reject(new Error(`the gateway exited (${code}):\n${out}`)));
    });
    base = `http://127.0.0.1:${port}`;
  }, 300_000);

  afterAll(async () => {
    if (gateway && gateway.exitCode === null && gateway.signalCode === null) {
      gateway.kill('SIGTERM');
      const [code] = await exited;
      expect(code).toBe(0);
    }
    await Promise.all(Object.values(services ?? {}).map((s) => s.close()));
    await redis?.stop();
  });

  it('reports the five services up and its Redis-backed rate limiter healthy, on the admin port', async () => {
    const summary = await send(`${base}/health`);
    expect(summary.json()).toEqual({
      status: 'healthy',
      service: 'lucid-api-gateway',
      version: expect.any(String),
    });
    expect((await send(`${base}/metrics`)).status).toBe(404);
    expect((await send(`${admin}/metrics`)).text).toContain('lucid_gateway_http_requests_total');
    const res = await send(`${admin}/health`);
    expect(res.status).toBe(200);
    expect(res.json()).toMatchObject({
      status: 'healthy',
      services: { auth: true, blockchain: true, sessions: true, nodes: true, admin: true },
      components: { 'rate-limit': { healthy: true, detail: { store: 'redis' } } },
    });
  });

  it('routes a login to auth (public) and a token-bearing request to its service; refuses one without', async () => {
    const login = await send(`${base}/auth/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ username: 'alice', password: 'alice' }),
    });
    expect(login.status).toBe(200);
    const token = login.json<{ access_token: string }>().access_token;

    const sessions = await send(`${base}/sessions`, { headers: { authorization: `Bearer ${token}` } });
    expect(sessions.status).toBe(200);
    expect(sessions.json()).toMatchObject({
      sessions: [],
      via: { path: '/', user: 'user-alice', tier: 'free' },
    });
    expect(sessions.headers.ratelimit ?? sessions.headers['ratelimit-policy']).toBeDefined();

    expect((await send(`${base}/nodes`)).status).toBe(401);
    expect(
      (await send(`${base}/admin/stats`, { headers: { authorization: `Bearer ${token}` } })).status,
    ).toBe(403);
  });
});

describe('examples/consul', () => {
  it('is a valid config whose meshed services come from Consul', async () => {
    await ensureBuilt();
    const env = { ...process.env, JWT_SECRET_KEY: randomBytes(32).toString('base64url') };
    const cwd = fileURLToPath(new URL('../consul/', import.meta.url));
    await run(process.execPath, [bin, 'validate'], { cwd, env });
    const { stdout } = await run(process.execPath, [bin, 'routes', '--json'], { cwd, env });
    const routes = JSON.parse(stdout) as Array<{ prefix: string; upstream?: string[] }>;
    const upstream = Object.fromEntries(routes.map((r) => [r.prefix, r.upstream?.[0]]));
    expect(upstream['/sessions']).toBe('(consul: lucid-session-api)');
    expect(upstream['/admin']).toMatch(/^http:\/\//);
  }, 300_000);
});
