import { execFile, spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { type RunningGateway, startGateway } from '@lucid/test-kit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const TESTSSL = process.env.TESTSSL_PATH ?? '/usr/bin/testssl';
const run = promisify(execFile);

interface Finding {
  id: string;
  severity: string;
  finding: string;
}

/**
 * testssl.sh (Debian) against the gateway's TLS listener with its defaults: protocols, cipher
 * categories, forward secrecy, the server's preference, the known vulnerabilities (renegotiation,
 * CRIME, BEAST, ROBOT, ...), HTTP headers (HSTS) and the server's defaults. It stays on loopback:
 * the address is given (no DNS), and it never phones out for CRLs or OCSP (`--phone-out` is off).
 * About 100 s with `--fast`.
 */
describe.skipIf(!existsSync(TESTSSL))('the TLS listener under testssl.sh', () => {
  let dir: string;
  let gw: RunningGateway;
  let findings: Finding[];

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'lucid-testssl-'));
    // A certificate as a public CA issues it: ECDSA P-256, 90 days, with a CRL distribution point
    // (testssl reads it; without --phone-out it never fetches it).
    const cert = join(dir, 'cert.pem');
    const key = join(dir, 'key.pem');
    await run('openssl', [
      'req',
      '-x509',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:P-256',
      '-nodes',
      '-keyout',
      key,
      '-out',
      cert,
      '-days',
      '90',
      '-subj',
      '/CN=localhost',
      '-addext',
      'subjectAltName=DNS:localhost,IP:127.0.0.1',
      '-addext',
      'crlDistributionPoints=URI:http://127.0.0.1:9/lucid.crl',
      '-addext',
      'keyUsage=critical,digitalSignature',
      '-addext',
      'extendedKeyUsage=serverAuth',
    ]);
    gw = await startGateway({ server: { tls: { cert, key, hsts: true } } });
    const json = join(dir, 'testssl.json');
    const child = spawn(
      TESTSSL,
      [
        '--quiet',
        '--warnings',
        'off',
        '--color',
        '0',
        '--fast',
        '--nodns',
        'none',
        '--ip',
        '127.0.0.1',
        '--add-ca',
        cert,
        '--jsonfile',
        json,
        '-p',
        '-s',
        '-f',
        '-P',
        '-U',
        '-h',
        '-S',
        `https://localhost:${gw.port}/health/live`,
      ],
      { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, TERM: 'dumb' } },
    );
    let out = '';
    child.stdout!.on('data', (c) => {
      out += c;
    });
    child.stderr!.on('data', (c) => {
      out += c;
    });
    await once(child, 'close');
    if (process.env.TESTSSL_REPORT) console.log(out);
    findings = JSON.parse(await readFile(json, 'utf8')) as Finding[];
    if (process.env.TESTSSL_REPORT) {
      for (const f of findings) console.log(`${f.id}\t${f.severity}\t${f.finding}`);
    }
  }, 300_000);

  afterAll(async () => {
    await gw?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('finds nothing rated MEDIUM or worse', () => {
    // WARN lines are about the scanner itself (e.g. its OpenSSL lacks RC4 to try), not the listener.
    const bad = findings.filter((f) => ['MEDIUM', 'HIGH', 'CRITICAL'].includes(f.severity));
    expect(bad).toEqual([]);
  });

  it('sees TLS 1.2 and 1.3 only, forward secrecy, the server cipher order, no renegotiation or compression, HSTS', () => {
    const of = (id: string) => findings.find((f) => f.id === id);
    for (const old of ['SSLv2', 'SSLv3', 'TLS1', 'TLS1_1']) expect(of(old)?.finding).toMatch(/not offered/);
    expect(of('TLS1_2')?.finding).toMatch(/^offered/);
    expect(of('TLS1_3')?.finding).toMatch(/^offered/);
    for (const weak of ['NULL', 'aNULL', 'EXPORT', 'LOW', '3DES_IDEA', 'AVERAGE']) {
      expect(`${weak}: ${of(`cipherlist_${weak}`)?.finding}`).toMatch(/: not offered/);
    }
    expect(of('PFS')?.severity).toBe('OK');
    expect(of('cipher_order')?.severity).toBe('OK');
    expect(of('secure_client_renego')?.finding).toMatch(/not vulnerable/);
    expect(of('CRIME_TLS')?.finding).toMatch(/not vulnerable/);
    expect(of('HSTS_time')?.severity).toBe('OK');
  });
});
