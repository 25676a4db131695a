/**
 * The CLI as an operator runs it: `mesh.consul` and `services.X.discovery: consul` in a config
 * file drive discovery and registration, and SIGTERM takes the gateway out of Consul. Runs the
 * built CLI (the test command builds first); skipped when it has not been built.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort, send, startUpstream, type Upstream } from '@lucid/test-kit';
import { ensureBuilt } from '@lucid/test-kit/cli';
import { type ConsulUnderTest, consulUnderTest } from '@lucid/test-kit/consul';
import { afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';

const bin = fileURLToPath(new URL('../../cli/dist/bin.js', import.meta.url));

describe('lucid-gateway start with mesh.consul', () => {
  beforeAll(ensureBuilt, 300_000);
  let consul: ConsulUnderTest;
  let upstream: Upstream;
  let dir: string;
  let child: ChildProcess | undefined;

  beforeEach(async () => {
    consul = await consulUnderTest();
    upstream = await startUpstream();
    dir = await mkdtemp(join(tmpdir(), 'lucid-cli-consul-'));
  });
  afterEach(async () => {
    if (child && child.exitCode === null && child.signalCode === null) {
      const exited = once(child, 'exit');
      child.kill('SIGKILL');
      await exited;
    }
    await upstream.close();
    await consul.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('discovers upstreams, registers on start and deregisters on SIGTERM', async () => {
    const service = consul.unique('sessions');
    const name = consul.unique('lucid-api-gateway');
    const id = `${name}-cli`;
    const port = await freePort();
    await consul.registerInstance({ name: service, port: upstream.port });
    const config = join(dir, 'lucid-gateway.yaml');
    await writeFile(
      config,
      [
        `server: { host: 127.0.0.1, port: ${port} }`,
        'logging: { level: info, pretty: false }',
        'services:',
        `  sessions: { discovery: consul, consul: { service: ${service} } }`,
        'routes:',
        '  - { prefix: /sessions, service: sessions, auth: public }',
        'mesh:',
        '  consul:',
        `    url: ${consul.url}`,
        ...(consul.token ? [`    token: ${consul.token}`] : []),
        '    wait: 10s',
        `    register: { name: ${name}, id: ${id}, tags: [cli], check: { interval: 200ms } }`,
      ].join('\n'),
    );
    const env = { ...process.env };
    delete env.CONSUL_HTTP_ADDR;
    child = spawn(process.execPath, [bin, 'start', '--config', config], {
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    child.stderr!.on('data', (c) => {
      out += c;
    });
    for await (const chunk of child.stdout!) {
      out += chunk;
      if (out.includes('gateway listening')) break;
    }
    child.stdout!.resume();
    expect(out).toContain('gateway listening');

    expect((await consul.agentServices())[id]).toMatchObject({ Service: name, Port: port, Tags: ['cli'] });
    const res = await send(`http://127.0.0.1:${port}/sessions/hello`);
    expect(res.status).toBe(200);
    expect(res.json()).toMatchObject({ url: '/hello' });

    const exited = once(child, 'exit');
    child.kill('SIGTERM');
    const [code] = await exited;
    expect(code).toBe(0);
    expect((await consul.agentServices())[id]).toBeUndefined();
  });
});
