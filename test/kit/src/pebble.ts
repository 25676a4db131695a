import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { writeFile } from 'node:fs/promises';
import { request } from 'node:https';
import { join } from 'node:path';
import { freePort } from './net.js';
import { serverCertificate } from './tls.js';
import { until } from './until.js';

export interface Pebble {
  /** The ACME directory URL. */
  directory: string;
  /** A PEM file of the CA of Pebble's own HTTPS listener (the gateway's `directoryCa`). */
  caFile: string;
  /** The root that signs the certificates Pebble issues (new on every start), PEM. */
  issuingRoot(): Promise<string>;
  /** Stops Pebble and its DNS stand-in (idempotent). */
  stop(): Promise<void>;
}

export interface PebbleOptions {
  /** Where Pebble's validation authority sends http-01 checks (the gateway's plain port). */
  httpPort: number;
  /** Where it sends tls-alpn-01 checks (the gateway's TLS port). */
  tlsPort: number;
  /** Lifetime of the certificates it issues, in seconds (short ones for renewal tests). */
  validitySeconds?: number;
}

/**
 * Debian's `pebble` (Let's Encrypt's RFC 8555 test CA) on loopback ports, with `pebble-challtestsrv`
 * as its DNS server answering 127.0.0.1 for every name, so any `*.test` name validates against the
 * gateway's ports on this machine. No sleeps in its validation, no rejected nonces.
 */
export async function startPebble(opts: PebbleOptions): Promise<Pebble> {
  const tls = await serverCertificate();
  const dir = join(tls.certFile, '..');
  const [acmePort, managementPort, dnsPort, challManagementPort] = await Promise.all([
    freePort(),
    freePort(),
    freePort(),
    freePort(),
  ]);
  const caFile = join(dir, 'pebble-ca.pem');
  await writeFile(caFile, tls.ca);
  const config = join(dir, 'pebble.json');
  await writeFile(
    config,
    JSON.stringify({
      pebble: {
        listenAddress: `127.0.0.1:${acmePort}`,
        managementListenAddress: `127.0.0.1:${managementPort}`,
        certificate: tls.certFile,
        privateKey: tls.keyFile,
        httpPort: opts.httpPort,
        tlsPort: opts.tlsPort,
        ocspResponderURL: '',
        externalAccountBindingRequired: false,
        ...(opts.validitySeconds && { certificateValidityPeriod: opts.validitySeconds }),
      },
    }),
  );
  const children: ChildProcess[] = [];
  const run = (bin: string, args: string[], env: Record<string, string> = {}) => {
    const child = spawn(bin, args, { env: { ...process.env, ...env }, stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    child.stderr!.on('data', (c) => {
      err = (err + c).slice(-4000);
    });
    children.push(child);
    return () => err;
  };
  const dnsLog = run('pebble-challtestsrv', [
    '-dns01',
    `127.0.0.1:${dnsPort}`,
    '-http01',
    '',
    '-https01',
    '',
    '-tlsalpn01',
    '',
    '-management',
    `127.0.0.1:${challManagementPort}`,
    '-defaultIPv4',
    '127.0.0.1',
    '-defaultIPv6',
    '',
  ]);
  const pebbleLog = run('pebble', ['-config', config, '-dnsserver', `127.0.0.1:${dnsPort}`], {
    PEBBLE_VA_NOSLEEP: '1',
    PEBBLE_WFE_NONCEREJECT: '0',
    PEBBLE_AUTHZREUSE: '0',
  });
  let stopped: Promise<void> | undefined;
  const stop = () =>
    (stopped ??= (async () => {
      await Promise.all(
        children.map(async (child) => {
          if (child.exitCode !== null || child.signalCode !== null) return;
          const exited = once(child, 'exit');
          child.kill('SIGTERM');
          await exited;
        }),
      );
      await tls.close();
    })());
  const get = (port: number, path: string) =>
    new Promise<{ status: number; body: string }>((resolve) => {
      const req = request({ host: '127.0.0.1', port, path, ca: tls.ca, servername: 'localhost' }, (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (c) => {
          body += c;
        });
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      });
      req.on('error', () => resolve({ status: 0, body: '' }));
      req.end();
    });
  try {
    await until(
      async () => {
        for (const child of children) {
          if (child.exitCode !== null) throw new Error(`pebble exited: ${pebbleLog()} ${dnsLog()}`);
        }
        return (await get(acmePort, '/dir')).status;
      },
      (status) => status === 200,
      400,
    );
  } catch (err) {
    await stop();
    throw err;
  }
  return {
    directory: `https://127.0.0.1:${acmePort}/dir`,
    caFile,
    async issuingRoot() {
      const { status, body } = await get(managementPort, '/roots/0');
      if (status !== 200) throw new Error(`pebble roots: ${status}`);
      return body;
    },
    stop,
  };
}
