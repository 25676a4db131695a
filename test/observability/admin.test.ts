import { request } from 'node:http';
import {
  type Reply,
  type RunningGateway,
  send,
  startGateway,
  startUpstream,
  type Upstream,
} from '@lucid/test-kit';
import { runCli, tempProject } from '@lucid/test-kit/cli';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const config = (extra: Record<string, unknown> = {}) => ({
  ...extra,
  builtins: { ui: true },
  services: { api: { targets: [upstreamUrl()] } },
  routes: [{ prefix: '/api', service: 'api', auth: 'public' }],
});

let upstream: Upstream;
const upstreamUrl = () => upstream.url;

beforeAll(async () => {
  upstream = await startUpstream();
});
afterAll(async () => {
  await upstream.close();
});

describe('with server.admin', () => {
  let gw: RunningGateway;
  let admin: string;

  beforeAll(async () => {
    gw = await startGateway(config({ server: { admin: { port: 0 } } }));
    const bound = gw.gateway.adminAddress()!;
    expect(bound.host).toBe('127.0.0.1'); // the default: loopback only
    admin = `http://127.0.0.1:${bound.port}`;
  });
  afterAll(async () => {
    await gw.close();
  });

  it('serves /metrics and the dashboard on the admin port only', async () => {
    await send(`${gw.url}/api/x`);
    const metrics = await send(`${admin}/metrics`);
    expect(metrics.status).toBe(200);
    expect(metrics.text).toContain(`target="${upstream.url}"`);
    expect((await send(`${admin}/ui/`)).status).toBe(200);
    expect((await send(`${admin}/ui/state.json`)).text).toContain(upstream.url);

    for (const path of ['/metrics', '/metrics/', '/ui/', '/ui/state.json', '/ui/app.js']) {
      const pub = await send(`${gw.url}${path}`);
      expect(pub.status, path).toBe(404);
      expect(pub.text).not.toContain(String(upstream.port));
    }
  });

  it('keeps live, ready and a summary /health on the public port, naming no target', async () => {
    expect((await send(`${gw.url}/health/live`)).status).toBe(200);
    expect((await send(`${gw.url}/health/ready`)).status).toBe(200);
    const summary = await send(`${gw.url}/health`);
    expect(summary.status).toBe(200);
    expect(Object.keys(summary.json()).sort()).toEqual(['service', 'status', 'version']);
    expect(summary.text).not.toContain('127.0.0.1');
    expect(summary.text).not.toContain('services');
    expect(summary.text).not.toContain('"api"');

    const detailed = await send(`${admin}/health`);
    expect(detailed.json()).toMatchObject({ status: 'healthy', services: { api: true } });
    expect((await send(`${admin}/health/ready`)).status).toBe(200);
  });

  it('routes nothing but built-ins on the admin port, and takes no upgrade there', async () => {
    const routed = await send(`${admin}/api/x`);
    expect(routed.status).toBe(404);
    const seen = upstream.seen.length;
    const upgrade = await new Promise<string>((resolve) => {
      const req = request(`${admin}/ui/`, { headers: { connection: 'upgrade', upgrade: 'websocket' } });
      req.on('upgrade', () => resolve('upgraded'));
      req.on('response', (res) => resolve(`answered ${res.statusCode}`));
      req.on('error', () => resolve('closed'));
      req.end();
    });
    expect(upgrade).toBe('closed');
    expect(upstream.seen.length).toBe(seen);
    // The public port still proxies.
    expect((await send(`${gw.url}/api/x`)).status).toBe(200);
  });

  it('a path that normalizes onto an admin built-in is not served publicly either', async () => {
    for (const path of ['/api/../metrics', '//metrics', '/ui/../metrics', '/METRICS']) {
      const r: Reply = await send(`${gw.url}${path}`);
      expect(r.text, path).not.toContain('lucid_gateway_');
    }
  });
});

describe('without server.admin', () => {
  it('serves everything on the one port as before', async () => {
    const gw = await startGateway(config());
    try {
      expect((await send(`${gw.url}/metrics`)).status).toBe(200);
      expect((await send(`${gw.url}/ui/`)).status).toBe(200);
      expect((await send(`${gw.url}/health`)).json()).toMatchObject({ services: { api: true } });
      expect(gw.gateway.adminAddress()).toBeUndefined();
    } finally {
      await gw.close();
    }
  });

  it('validate warns that /metrics is public, and not once server.admin is set', async () => {
    const project = tempProject();
    try {
      const base = {
        services: { api: { targets: ['http://127.0.0.1:9'] } },
        routes: [{ prefix: '/api', service: 'api', auth: 'public' }],
      };
      project.write('lucid-gateway.config.json', JSON.stringify(base));
      const open = await runCli(['validate', '--json'], { cwd: project.dir });
      expect(open.code).toBe(0);
      expect(JSON.parse(open.stdout).file).toMatch(/lucid-gateway\.config\.json$/);
      expect(JSON.parse(open.stdout).problems).toEqual([
        expect.objectContaining({ path: 'builtins.metrics', severity: 'warning' }),
      ]);
      project.write(
        'lucid-gateway.config.json',
        JSON.stringify({ ...base, server: { admin: { port: 9901 } } }),
      );
      const closed = await runCli(['validate', '--json'], { cwd: project.dir });
      expect(JSON.parse(closed.stdout)).toMatchObject({ valid: true, problems: [] });
      project.write(
        'lucid-gateway.config.json',
        JSON.stringify({ ...base, server: { port: 9901, admin: { port: 9901 } } }),
      );
      const clash = await runCli(['validate'], { cwd: project.dir });
      expect(clash.code).toBe(1);
      expect(clash.stderr).toMatch(/server\.admin\.port: 9901 is the public port too/);
    } finally {
      project.cleanup();
    }
  });
});
