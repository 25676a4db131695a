import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

export interface IssuedCert {
  cert: string;
  key: string;
  /** Colon-separated hex, as Consul prints serial numbers. */
  serial: string;
  validAfter: string;
  validBefore: string;
}

export interface TestCa {
  id: string;
  cert: string;
  key: string;
}

export interface Pki {
  dir: string;
  /** Creates a CA (self-signed, with the trust domain as its URI SAN). */
  createCa(name?: string): Promise<TestCa>;
  /** Issues a leaf signed by `ca` for the given SANs (server and client auth). */
  issue(
    ca: TestCa,
    sans: { uris?: string[]; dns?: string[]; ips?: string[] },
    cn?: string,
  ): Promise<IssuedCert>;
  /** Writes a PEM to a file in the temp dir and returns its path. */
  file(name: string, pem: string): Promise<string>;
  /** Removes the temp dir. */
  close(): Promise<void>;
}

/**
 * Real certificates for tests, made with the `openssl` CLI in a temp dir (CI needs openssl).
 * EC P-256 keys, like Consul's built-in CA.
 */
export async function createPki(trustDomain: string): Promise<Pki> {
  const dir = await mkdtemp(join(tmpdir(), 'lucid-consul-pki-'));
  let n = 0;
  const path = (name: string) => join(dir, name);
  const openssl = async (args: string[]) => {
    await run('openssl', args, { cwd: dir });
  };

  return {
    dir,

    async createCa(name = 'Test Connect CA') {
      const id = `ca${++n}`;
      await openssl([
        'req',
        '-x509',
        '-newkey',
        'ec',
        '-pkeyopt',
        'ec_paramgen_curve:prime256v1',
        '-nodes',
        '-keyout',
        path(`${id}.key`),
        '-out',
        path(`${id}.pem`),
        '-days',
        '2',
        '-sha256',
        '-subj',
        `/CN=${name} ${n}`,
        '-addext',
        'basicConstraints=critical,CA:TRUE',
        '-addext',
        'keyUsage=critical,keyCertSign,cRLSign',
        '-addext',
        `subjectAltName=URI:spiffe://${trustDomain}`,
      ]);
      return {
        id,
        cert: await readFile(path(`${id}.pem`), 'utf8'),
        key: await readFile(path(`${id}.key`), 'utf8'),
      };
    },

    async issue(ca, sans, cn = 'leaf') {
      const id = `leaf${++n}`;
      const altNames = [
        ...(sans.uris ?? []).map((u) => `URI:${u}`),
        ...(sans.dns ?? []).map((d) => `DNS:${d}`),
        ...(sans.ips ?? []).map((i) => `IP:${i}`),
      ];
      await writeFile(
        path(`${id}.ext`),
        [
          'basicConstraints=critical,CA:FALSE',
          'keyUsage=critical,digitalSignature,keyEncipherment,keyAgreement',
          'extendedKeyUsage=serverAuth,clientAuth',
          'subjectKeyIdentifier=hash',
          'authorityKeyIdentifier=keyid',
          ...(altNames.length ? [`subjectAltName=${altNames.join(',')}`] : []),
        ].join('\n'),
      );
      await openssl([
        'req',
        '-new',
        '-newkey',
        'ec',
        '-pkeyopt',
        'ec_paramgen_curve:prime256v1',
        '-nodes',
        '-keyout',
        path(`${id}.key`),
        '-out',
        path(`${id}.csr`),
        '-subj',
        `/CN=${cn}`,
      ]);
      const serialHex = randomBytes(8)
        .toString('hex')
        .replace(/^[89a-f]/, '1');
      await openssl([
        'x509',
        '-req',
        '-in',
        path(`${id}.csr`),
        '-CA',
        path(`${ca.id}.pem`),
        '-CAkey',
        path(`${ca.id}.key`),
        '-set_serial',
        `0x${serialHex}`,
        '-days',
        '1',
        '-sha256',
        '-extfile',
        path(`${id}.ext`),
        '-out',
        path(`${id}.pem`),
      ]);
      const now = Date.now();
      return {
        cert: await readFile(path(`${id}.pem`), 'utf8'),
        key: await readFile(path(`${id}.key`), 'utf8'),
        serial: serialHex.match(/../g)!.join(':'),
        validAfter: new Date(now - 60_000).toISOString(),
        validBefore: new Date(now + 86_400_000).toISOString(),
      };
    },

    async file(name, pem) {
      await writeFile(path(name), pem);
      return path(name);
    },

    async close() {
      await rm(dir, { recursive: true, force: true });
    },
  };
}
