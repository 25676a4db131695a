import { mkdtemp, readdir, rm, stat } from 'node:fs/promises';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect, type PeerCertificate } from 'node:tls';
import { acmeCertificates } from '@lucid/acme';
import { createGateway, createLogger, type Gateway } from '@lucid/gateway-core';
import { freePort, logSink, until } from '@lucid/test-kit';
import { type Pebble, startPebble } from '@lucid/test-kit/pebble';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';

const DOMAINS = ['api.lucid.test', 'gw.lucid.test'];
/** Long enough for an order through Pebble on a busy machine; the waits end as soon as the state is there. */
const ISSUANCE_TRIES = 3_600;

interface Running {
  gateway: Gateway;
  tlsPort: number;
  httpPort: number;
  logs: Array<Record<string, unknown>>;
}

describe('certificates from ACME (Pebble)', () => {
  let storage: string;
  const pebbles: Pebble[] = [];
  const gateways: Gateway[] = [];

  beforeEach(async () => {
    storage = await mkdtemp(join(tmpdir(), 'lucid-acme-'));
  });
  afterEach(async () => {
    await Promise.all(gateways.splice(0).map((g) => g.close({ graceMs: 0 })));
    await Promise.all(pebbles.splice(0).map((p) => p.stop()));
    await rm(storage, { recursive: true, force: true });
  });

  async function pebble(ports: { httpPort: number; tlsPort: number }, validitySeconds?: number) {
    const p = await startPebble({ ...ports, ...(validitySeconds && { validitySeconds }) });
    pebbles.push(p);
    return p;
  }

  async function gatewayOn(
    ca: Pebble,
    ports: { httpPort: number; tlsPort: number },
    acme: Record<string, unknown> = {},
  ): Promise<Running> {
    const sink = logSink();
    const gateway = createGateway(
      {
        server: {
          tls: {
            acme: {
              domains: DOMAINS,
              email: 'ops@lucid.test',
              directory: ca.directory,
              directoryCa: ca.caFile,
              storage,
              httpPort: ports.httpPort,
              ...acme,
            },
          },
        },
      },
      {
        plugins: [acmeCertificates()],
        logger: createLogger({ level: 'info', pretty: false, accessLog: false }, sink.stream),
      },
    );
    gateways.push(gateway);
    await gateway.listen({ port: ports.tlsPort, host: '127.0.0.1' });
    return { gateway, ...ports, logs: sink.lines };
  }

  const ports = async () => ({ httpPort: await freePort(), tlsPort: await freePort() });

  it('gets its first certificate by http-01, serves it, redirects the plain port, and keeps its files 0600', async () => {
    const at = await ports();
    const ca = await pebble(at);
    // The plain port answers before any certificate exists.
    const gw = await gatewayOn(ca, at);
    expect((await plainGet(at.httpPort, '/health/live')).status).toBe(200);
    expect(await handshake(at.tlsPort, DOMAINS[0]!, undefined)).toHaveProperty('error');

    const root = await ca.issuingRoot();
    for (const name of DOMAINS) {
      const cert = await until(
        () => handshake(at.tlsPort, name, root),
        (c) => 'serial' in c,
        ISSUANCE_TRIES,
      );
      expect(cert).toMatchObject({ authorized: true });
    }
    expect(await metric(gw.gateway, 'lucid_gateway_acme_orders_total{result="success"}')).toBe(1);
    expect(
      await metric(gw.gateway, 'lucid_gateway_tls_certificate_expiry_timestamp_seconds'),
    ).toBeGreaterThan(Date.now() / 1000);
    expect((await gw.gateway.health()).components?.acme).toMatchObject({ healthy: true });

    const redirect = await plainGet(at.httpPort, '/orders?id=7', 'gw.lucid.test:80');
    expect(redirect).toMatchObject({ status: 308, location: 'https://gw.lucid.test/orders?id=7' });
    // A Host that is not one of the names never becomes a redirect target.
    expect((await plainGet(at.httpPort, '/x', 'evil.example')).location).toBe('https://api.lucid.test/x');
    expect((await plainGet(at.httpPort, '/.well-known/acme-challenge/..%2f..%2faccount.key')).status).toBe(
      404,
    );
    expect((await plainGet(at.httpPort, '/.well-known/acme-challenge/unknown-token')).status).toBe(404);

    const files = await walk(storage);
    expect(files.some((f) => f.path.endsWith('certificate.pem'))).toBe(true);
    expect(files.some((f) => f.path.endsWith('account.key'))).toBe(true);
    for (const f of files)
      expect(`${f.path} ${(f.mode & 0o777).toString(8)}`).toBe(`${f.path} ${f.dir ? '700' : '600'}`);
  });

  it('gets its first certificate by tls-alpn-01 on the TLS port', async () => {
    const at = await ports();
    const ca = await pebble(at);
    const gw = await gatewayOn(ca, at, { challenge: 'tls-alpn-01' });
    const root = await ca.issuingRoot();
    const cert = await until(
      () => handshake(at.tlsPort, DOMAINS[1]!, root),
      (c) => 'serial' in c,
      ISSUANCE_TRIES,
    );
    expect(cert).toMatchObject({ authorized: true });
    expect(await metric(gw.gateway, 'lucid_gateway_acme_orders_total{result="success"}')).toBe(1);
  });

  it('after a restart serves the stored certificate without a new order (the CA is gone)', async () => {
    const at = await ports();
    const ca = await pebble(at);
    const first = await gatewayOn(ca, at);
    const root = await ca.issuingRoot();
    const issued = await until(
      () => handshake(at.tlsPort, DOMAINS[0]!, root),
      (c) => 'serial' in c,
      ISSUANCE_TRIES,
    );
    await first.gateway.close({ graceMs: 0 });
    await ca.stop();

    const again = await gatewayOn(ca, at);
    // Installed before listen() resolved: no waiting, and the CA could not have been asked.
    expect(await handshake(at.tlsPort, DOMAINS[0]!, root)).toMatchObject({
      serial: (issued as { serial: string }).serial,
    });
    expect(await metric(again.gateway, 'lucid_gateway_acme_orders_total{result="success"}')).toBe(0);
    expect((await again.gateway.health()).components?.acme).toMatchObject({ healthy: true });
  });

  it('renews a short-lived certificate before it expires, without a restart', async () => {
    const at = await ports();
    const ca = await pebble(at, 30);
    const gw = await gatewayOn(ca, at, { renewBefore: '20s' });
    const root = await ca.issuingRoot();
    const first = (await until(
      () => handshake(at.tlsPort, DOMAINS[0]!, root),
      (c) => 'serial' in c,
      ISSUANCE_TRIES,
    )) as Served;
    const renewed = (await until(
      () => handshake(at.tlsPort, DOMAINS[0]!, root),
      (c) => 'serial' in c && c.serial !== first.serial,
      ISSUANCE_TRIES,
    )) as Served;
    expect(renewed.validTo).toBeGreaterThan(first.validTo);
    expect(await metric(gw.gateway, 'lucid_gateway_acme_orders_total{result="success"}')).toBe(2);
  }, 90_000);

  it('keeps serving the old certificate when renewal fails, and says so in /health and the metrics', async () => {
    const at = await ports();
    const ca = await pebble(at, 30);
    const gw = await gatewayOn(ca, at, { renewBefore: '20s' });
    const root = await ca.issuingRoot();
    const first = (await until(
      () => handshake(at.tlsPort, DOMAINS[0]!, root),
      (c) => 'serial' in c,
      ISSUANCE_TRIES,
    )) as Served;
    await ca.stop();

    const health = await until(
      () => gw.gateway.health(),
      (h) => h.components?.acme?.healthy === false,
      ISSUANCE_TRIES,
    );
    expect(health.status).toBe('degraded');
    expect(health.components?.acme?.detail).toMatchObject({ renewal: 'failing', failures: 1 });
    expect(await metric(gw.gateway, 'lucid_gateway_acme_orders_total{result="failure"}')).toBe(1);
    expect(await handshake(at.tlsPort, DOMAINS[0]!, root)).toMatchObject({
      serial: first.serial,
      authorized: true,
    });
    expect(
      gw.logs.some((l) => l.msg === 'certificate renewal failed; the current certificate stays in use'),
    ).toBe(true);
  }, 90_000);

  it('two instances on one storage order once and serve the same certificate', async () => {
    const a = await ports();
    const b = await ports();
    const ca = await pebble(a);
    // Only A's ports are where the CA checks: whichever instance orders, the answer is in shared storage.
    const [one, two] = await Promise.all([gatewayOn(ca, a), gatewayOn(ca, b)]);
    const root = await ca.issuingRoot();
    const served = await Promise.all(
      [one, two].map(
        (gw) =>
          until(
            () => handshake(gw.tlsPort, DOMAINS[0]!, root),
            (c) => 'serial' in c,
            ISSUANCE_TRIES,
          ) as Promise<Served>,
      ),
    );
    expect(served[0]!.serial).toBe(served[1]!.serial);
    const orders = await Promise.all(
      [one, two].map((gw) => metric(gw.gateway, 'lucid_gateway_acme_orders_total{result="success"}')),
    );
    expect(orders[0]! + orders[1]!).toBe(1);
  });
});

interface Served {
  serial: string;
  authorized: boolean;
  validTo: number;
}

/** A TLS handshake as a client of `name` would make it, trusting `root`; the certificate it got. */
function handshake(
  port: number,
  name: string,
  root: string | undefined,
): Promise<Served | { error: string }> {
  return new Promise((resolve) => {
    const socket = connect(
      {
        host: '127.0.0.1',
        port,
        servername: name,
        ca: root,
        rejectUnauthorized: false,
        ALPNProtocols: ['http/1.1'],
      },
      () => {
        const cert: PeerCertificate = socket.getPeerCertificate();
        resolve({
          serial: cert.serialNumber.toLowerCase(),
          authorized: socket.authorized,
          validTo: Date.parse(cert.valid_to),
        });
        socket.end();
      },
    );
    socket.on('error', (err) => resolve({ error: err.message }));
  });
}

function plainGet(
  port: number,
  path: string,
  host = 'api.lucid.test',
): Promise<{ status: number; location?: string; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, headers: { host }, agent: false }, (res) => {
      let body = '';
      res.on('data', (c) => {
        body += c;
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, location: res.headers.location, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

async function metric(gateway: Gateway, series: string): Promise<number> {
  const text = await gateway.registry.metrics();
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line ? Number(line.slice(series.length + 1)) : 0;
}

async function walk(dir: string): Promise<Array<{ path: string; mode: number; dir: boolean }>> {
  const out: Array<{ path: string; mode: number; dir: boolean }> = [];
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    const { mode } = await stat(path);
    out.push({ path, mode, dir: entry.isDirectory() });
    if (entry.isDirectory()) out.push(...(await walk(path)));
  }
  return out;
}
