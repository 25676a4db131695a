import { get } from 'node:https';
import { connect } from 'node:tls';
import { freePort } from '@lucid/test-kit';
import { CliProcess, ensureBuilt, runCli, tempProject } from '@lucid/test-kit/cli';
import { type Pebble, startPebble } from '@lucid/test-kit/pebble';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';

const cleanups: Array<() => unknown> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

describe('lucid-gateway start with server.tls.acme', () => {
  beforeAll(ensureBuilt, 120_000);

  async function setUp() {
    const httpPort = await freePort();
    const tlsPort = await freePort();
    const ca: Pebble = await startPebble({ httpPort, tlsPort });
    cleanups.push(() => ca.stop());
    const project = tempProject();
    cleanups.push(() => project.cleanup());
    const config = project.write(
      'lucid-gateway.json',
      JSON.stringify({
        server: {
          host: '127.0.0.1',
          port: tlsPort,
          tls: {
            acme: {
              domains: ['api.lucid.test'],
              directory: ca.directory,
              directoryCa: ca.caFile,
              storage: './acme',
              httpPort,
            },
            hsts: true,
          },
        },
        logging: { level: 'info', pretty: false },
      }),
    );
    return { ca, config, project, tlsPort, httpPort };
  }

  it('validate accepts the section, and start gets a certificate and serves HTTPS with HSTS', async () => {
    const { ca, config, project, tlsPort } = await setUp();
    const checked = await runCli(['validate', '--config', config], { cwd: project.dir });
    expect(checked.code).toBe(0);

    const cli = new CliProcess(['start', '--config', config], { cwd: project.dir });
    cleanups.push(() => cli.stop());
    await cli.waitFor('certificate installed', 60_000);
    const root = await ca.issuingRoot();
    const authorized = await new Promise<boolean>((resolve, reject) => {
      const socket = connect(
        { host: '127.0.0.1', port: tlsPort, servername: 'api.lucid.test', ca: root },
        () => {
          resolve(socket.authorized);
          socket.end();
        },
      );
      socket.on('error', reject);
    });
    expect(authorized).toBe(true);
    const sts = await new Promise<string | undefined>((resolve, reject) => {
      get(
        { host: '127.0.0.1', port: tlsPort, path: '/health/live', servername: 'api.lucid.test', ca: root },
        (res) => {
          res.resume();
          resolve(res.headers['strict-transport-security']);
        },
      ).on('error', reject);
    });
    expect(sts).toBe('max-age=31536000');
    expect(await cli.stop()).toBe(0);
  }, 90_000);
});
