import { startUpstream } from '@lucid/test-kit';
import { CliProcess, ensureBuilt, type LogLine, tempProject } from '@lucid/test-kit/cli';
import { type ConsulTestServer, startConsulTestServer } from '@lucid/test-kit/consul';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { get } from './support/http.js';

const cleanups: Array<() => unknown> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});
beforeAll(ensureBuilt, 180_000);

async function consul(): Promise<ConsulTestServer> {
  const c = await startConsulTestServer();
  cleanups.push(() => c.close());
  return c;
}

async function registerService(c: ConsulTestServer, name: string, port: number): Promise<void> {
  const res = await fetch(`${c.url}/v1/agent/service/register`, {
    method: 'PUT',
    body: JSON.stringify({ Name: name, ID: `${name}-1`, Address: '127.0.0.1', Port: port }),
  });
  expect(res.status).toBe(200);
}

function start(config: string, args: string[] = [], env: Record<string, string> = {}) {
  const p = tempProject({ 'gw.yaml': config });
  cleanups.push(() => p.cleanup());
  const cli = new CliProcess(['start', '--config', 'gw.yaml', ...args], { cwd: p.dir, env });
  cleanups.push(() => cli.stop());
  return cli;
}

describe('Consul through the CLI', () => {
  it('routes to the healthy instances Consul reports, with CONSUL_HTTP_ADDR as the agent address', async () => {
    const c = await consul();
    const upstream = await startUpstream((_req, res) => res.end('from consul'));
    cleanups.push(() => upstream.close());
    await registerService(c, 'lucid-session-api', upstream.port);
    const cli = start(
      `server: { host: 127.0.0.1, port: 0 }
services: { sessions: { discovery: consul, consul: { service: lucid-session-api } } }
routes: [{ prefix: /sessions, service: sessions, auth: public }]
mesh: { consul: { url: "http://127.0.0.1:1" } }
`,
      [],
      { CONSUL_HTTP_ADDR: `127.0.0.1:${c.port}` },
    );
    const port = await cli.port();
    expect(cli.lines[0]).toMatchObject({ overrides: ['CONSUL_HTTP_ADDR'], plugins: ['consul'] });
    await cli.waitFor((l) => l.msg === 'targets changed' && l.service === 'sessions' && l.targets === 1);
    expect(await get(`http://127.0.0.1:${port}/sessions/x`)).toMatchObject({
      status: 200,
      body: 'from consul',
    });
  });

  it('with --workers, registers the gateway once and deregisters it on SIGTERM', async () => {
    const c = await consul();
    const cli = start(
      `server: { host: 127.0.0.1, port: 0 }
services: { echo: { targets: [http://127.0.0.1:9] } }
routes: [{ prefix: /echo, service: echo, auth: public }]
mesh: { consul: { url: "${c.url}", register: { name: lucid-api-gateway } } }
`,
      ['--workers', '2'],
    );
    const listening = new Set<unknown>();
    await cli.waitFor((l: LogLine) => {
      if (l.msg === 'gateway listening') listening.add(l.worker);
      return listening.size === 2;
    }, 30_000);
    const registrations = c.requests.filter(
      (r) => r.method === 'PUT' && r.path === '/v1/agent/service/register',
    );
    expect(registrations).toHaveLength(1);

    cli.signal('SIGTERM');
    expect(await cli.exited).toBe(0);
    const deregistrations = c.requests.filter((r) => r.path.startsWith('/v1/agent/service/deregister/'));
    expect(deregistrations).toHaveLength(1);
  });
});
