import { createServer } from 'node:net';
import { freePort, startUpstream, type Upstream } from '@lucid/test-kit';
import { CliProcess, ensureBuilt, runCli, tempProject } from '@lucid/test-kit/cli';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { get } from './support/http.js';

const SECRET = 'a-development-secret-of-at-least-32-bytes';

const cleanups: Array<() => unknown> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function upstream(
  name: string,
  opts?: Parameters<typeof startUpstream>[1],
  handler?: Parameters<typeof startUpstream>[0],
) {
  const u = await startUpstream(
    handler ??
      ((_req, res, seen) => {
        const body = JSON.stringify({ upstream: name, url: seen.url, headers: seen.headers });
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(body);
      }),
    opts,
  );
  cleanups.push(() => u.close());
  return u;
}

function project(files: Record<string, string> = {}) {
  const p = tempProject(files);
  cleanups.push(() => p.cleanup());
  return p;
}

function start(args: string[], opts: { cwd: string; env?: Record<string, string> }) {
  const cli = new CliProcess(['start', ...args], opts);
  cleanups.push(() => cli.stop());
  return cli;
}

const echoConfig = (u: Upstream) => `
server: { host: 127.0.0.1, port: 0 }
services: { echo: { targets: ["${u.url}"] } }
routes: [{ prefix: /echo, service: echo, auth: public }]
`;

beforeAll(ensureBuilt, 180_000);

describe('start', () => {
  it('serves traffic from a config file and says first what it loaded', async () => {
    const u = await upstream('a');
    const p = project({ 'x.yaml': echoConfig(u) });
    const cli = start(['--config', 'x.yaml'], { cwd: p.dir });
    const port = await cli.port();
    const res = await get(`http://127.0.0.1:${port}/echo/hello?x=1`);
    expect(res.status).toBe(200);
    expect(JSON.parse(res.body)).toMatchObject({ upstream: 'a', url: '/hello?x=1' });
    expect(cli.lines[0]).toMatchObject({
      level: 'info',
      msg: `loaded config from ${p.dir}/x.yaml`,
      config: `${p.dir}/x.yaml`,
      services: ['echo'],
      routes: 1,
    });
    expect(cli.other).toEqual([]);
  });

  it('drains on SIGTERM: the in-flight request finishes, then it exits 0', async () => {
    let release!: () => void;
    const held = new Promise<void>((r) => {
      release = r;
    });
    let arrived!: () => void;
    const arrival = new Promise<void>((r) => {
      arrived = r;
    });
    const u = await upstream('slow', { streaming: true }, (req, res) => {
      arrived();
      req.resume();
      void held.then(() => res.end('finished'));
    });
    const p = project({ 'x.yaml': echoConfig(u) });
    const cli = start(['--config', 'x.yaml'], { cwd: p.dir });
    const port = await cli.port();
    const pending = get(`http://127.0.0.1:${port}/echo/slow`);
    await arrival;
    cli.signal('SIGTERM');
    await cli.waitFor('draining: finishing in-flight requests');
    release();
    const res = await pending;
    expect(res).toMatchObject({ status: 200, body: 'finished' });
    expect(await cli.exited).toBe(0);
    expect(cli.lines.at(-1)).toMatchObject({ msg: 'stopped' });
  });

  it('exits 0 on SIGINT too', async () => {
    const u = await upstream('a');
    const p = project({ 'x.yaml': echoConfig(u) });
    const cli = start(['--config', 'x.yaml'], { cwd: p.dir });
    await cli.port();
    cli.signal('SIGINT');
    expect(await cli.exited).toBe(0);
  });

  it('applies --port and --host over PORT and LOG_LEVEL, which apply over the file', async () => {
    const u = await upstream('a');
    const p = project({
      'lucid-gateway.config.yaml': echoConfig(u)
        .replace('port: 0', 'port: 1')
        .replace('host: 127.0.0.1', 'host: 0.0.0.0'),
    });
    const free = await freePort();
    const cli = start(['--port', String(free), '--host', '127.0.0.1'], {
      cwd: p.dir,
      env: { PORT: '2', LOG_LEVEL: 'DEBUG' },
    });
    expect(await cli.waitFor('gateway listening')).toMatchObject({ port: free, host: '127.0.0.1' });
    expect(cli.lines[0]).toMatchObject({ overrides: ['--port', '--host', 'LOG_LEVEL'] });
    expect((await get(`http://127.0.0.1:${free}/echo/`)).status).toBe(200);
  });

  it('refuses to start on a bad config: the problems, no stack, exit 1', async () => {
    const p = project({
      'lucid-gateway.config.yaml': `
server: { prot: 8080 }
services: { auth: { targets: [lucid-auth-service:8089] } }
routes: [{ prefix: /auth, service: auth, auth: public }]
`,
    });
    const r = await runCli(['start'], { cwd: p.dir });
    expect(r.code).toBe(1);
    expect(r.stdout).toBe('');
    expect(r.stderr).toContain('server.prot: unknown key (did you mean "port"?)');
    expect(r.stderr).toContain('services.auth.targets[0]: expected an http:// or https:// URL');
    expect(r.stderr).not.toMatch(/\n\s+at /);
  });

  it('refuses a route that needs auth when no auth is configured', async () => {
    const u = await upstream('a');
    const p = project({ 'x.yaml': echoConfig(u).replace(', auth: public', '') });
    const r = await runCli(['start', '--config', 'x.yaml'], { cwd: p.dir });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('routes[0].auth: "/echo" needs a verified identity');
  });

  it('says so plainly when the port is taken', async () => {
    const blocker = createServer();
    await new Promise<void>((r) => blocker.listen(0, '127.0.0.1', r));
    cleanups.push(() => new Promise((r) => blocker.close(r)));
    const taken = (blocker.address() as { port: number }).port;
    const u = await upstream('a');
    const p = project({ 'x.yaml': echoConfig(u) });
    const r = await runCli(['start', '--config', 'x.yaml', '--port', String(taken)], { cwd: p.dir });
    expect(r.code).toBe(1);
    expect(r.stderr).toBe(
      `lucid-gateway: cannot listen on 127.0.0.1:${taken}: the port is in use (choose another with --port)\n`,
    );
  });

  it('substitutes ${VAR} from --env-file, with the real environment winning', async () => {
    const a = await upstream('a');
    const b = await upstream('b');
    const p = project({
      'x.yaml': `
server: { host: 127.0.0.1, port: "\${GW_PORT:-0}" }
services: { echo: { targets: ["\${ECHO_URL}"] } }
routes: [{ prefix: /echo, service: echo, auth: public }]
`,
      '.env.core': `ECHO_URL=${a.url}\nGW_PORT=0\n`,
    });
    const fromFile = start(['--config', 'x.yaml', '--env-file', '.env.core'], { cwd: p.dir });
    const port = await fromFile.port();
    expect(JSON.parse((await get(`http://127.0.0.1:${port}/echo/`)).body).upstream).toBe('a');
    expect(fromFile.lines[0]).toMatchObject({ envFile: '.env.core', envFileVars: ['ECHO_URL', 'GW_PORT'] });

    const realWins = start(['--config', 'x.yaml', '--env-file', '.env.core'], {
      cwd: p.dir,
      env: { ECHO_URL: b.url },
    });
    const port2 = await realWins.port();
    expect(JSON.parse((await get(`http://127.0.0.1:${port2}/echo/`)).body).upstream).toBe('b');
  });
});

describe('start with no config file', () => {
  it('runs the embedded default: the public /auth route only, without a secret', async () => {
    const auth = await upstream('auth');
    const p = project();
    const cli = start([], { cwd: p.dir, env: { PORT: '0', AUTH_SERVICE_URL: auth.url } });
    const port = await cli.port();
    expect(cli.lines[0]!.msg).toMatch(
      /^no config file found: using the embedded default with only the public \/auth route/,
    );
    expect(cli.lines[0]).toMatchObject({ config: 'embedded default', overrides: ['PORT'] });
    expect(JSON.parse((await get(`http://127.0.0.1:${port}/auth/login`)).body)).toMatchObject({
      upstream: 'auth',
      url: '/login',
    });
    expect((await get(`http://127.0.0.1:${port}/nodes/x`)).status).toBe(404);
  });

  it('serves the five services with JWT_SECRET_KEY, and accepts a token from `lucid-gateway token`', async () => {
    const nodes = await upstream('nodes');
    const admin = await upstream('admin');
    const p = project();
    const env = {
      PORT: '0',
      JWT_SECRET_KEY: SECRET,
      NODE_MANAGEMENT_URL: nodes.url,
      ADMIN_INTERFACE_URL: admin.url,
    };
    const cli = start([], { cwd: p.dir, env });
    const port = await cli.port();
    expect(cli.lines[0]!.msg).toMatch(
      /^no config file found: using the embedded default \(the five Lucid services/,
    );
    expect(cli.lines[0]).toMatchObject({ plugins: ['auth', 'rate-limit'] });

    expect((await get(`http://127.0.0.1:${port}/nodes/n1`)).status).toBe(401);
    const user = (
      await runCli(['token', '--sub', 'user-1', '--tier', 'premium'], { cwd: p.dir, env })
    ).stdout.trim();
    const ok = await get(`http://127.0.0.1:${port}/nodes/n1`, {
      headers: { authorization: `Bearer ${user}` },
    });
    expect(ok.status).toBe(200);
    expect(JSON.parse(ok.body)).toMatchObject({ upstream: 'nodes', url: '/n1' });
    expect(ok.headers['ratelimit-policy']).toMatch(/premium/);

    // /admin needs the admin scope.
    expect(
      (await get(`http://127.0.0.1:${port}/admin/`, { headers: { authorization: `Bearer ${user}` } })).status,
    ).toBe(403);
    const adminToken = (
      await runCli(['token', '--sub', 'root', '--scopes', 'admin'], { cwd: p.dir, env })
    ).stdout.trim();
    const adm = await get(`http://127.0.0.1:${port}/admin/`, {
      headers: { authorization: `Bearer ${adminToken}` },
    });
    expect(adm.status).toBe(200);
  });
});
