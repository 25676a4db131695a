import { readFile } from 'node:fs/promises';
import { Agent } from 'node:https';
import { rootCertificates } from 'node:tls';
import type {
  AcmeConfig,
  CertificatePort,
  CertificateSource,
  ComponentHealth,
  CounterSeries,
  GaugeSeries,
  PluginSetup,
  ServerCertificate,
} from '@lucid/gateway-core';
import { counterOn, gaugeOn } from '@lucid/gateway-core';
import acme from 'acme-client';
import { bundle, covers, parseBundle, type StoredCertificate } from './certificate.js';
import { type AcmeLock, AcmeStorage } from './storage.js';

const CERTIFICATE_FILE = 'certificate.pem';
/** While another instance holds the lock, look again this often for the certificate it stores. */
const LOCK_POLL_MS = 2_000;
/** Storage is read again at least this often (another instance may have renewed). */
const RECHECK_MS = 60 * 60_000;
/** After a failed order: 5 min, doubling up to 6 h (Let's Encrypt allows 5 failed validations an hour). */
const BACKOFF_MIN_MS = 5 * 60_000;
const BACKOFF_MAX_MS = 6 * 60 * 60_000;
const ALPN_PREFIX = 'alpn-';

type Logger = PluginSetup['logger'];

/**
 * Orders, stores and renews the HTTPS port's certificate with an ACME CA (RFC 8555), answering
 * http-01 (RFC 8555 §8.3) or tls-alpn-01 (RFC 8737) through the gateway's ports. Instances that
 * share `storage` take turns with a lock file: one orders, the others read what it stored.
 */
export class AcmeEngine implements CertificateSource {
  readonly #config: AcmeConfig;
  readonly #storage: AcmeStorage;
  readonly #logger: Logger;
  readonly #http = new Map<string, string>();
  readonly #alpn = new Map<string, Promise<ServerCertificate>>();
  #port: CertificatePort | undefined;
  #current: (StoredCertificate & { renewAt: number }) | undefined;
  #timer: NodeJS.Timeout | undefined;
  #running: Promise<void> | undefined;
  #stopped = false;
  #failures = 0;
  #nextAttempt: number | undefined;
  #client: acme.Client | undefined;
  readonly #orders: { success: CounterSeries; failure: CounterSeries };
  readonly #expiry: GaugeSeries;

  constructor(config: AcmeConfig, setup: Pick<PluginSetup, 'logger' | 'registry' | 'metricPrefix'>) {
    this.#config = config;
    this.#storage = new AcmeStorage(config.storage, config.directory, config.domains);
    this.#logger = setup.logger.child({ component: 'acme' });
    const orders = counterOn(
      setup.registry,
      `${setup.metricPrefix}acme_orders_total`,
      'Certificate orders to the ACME CA, by result',
      ['result'],
    );
    this.#orders = { success: orders.labels('success'), failure: orders.labels('failure') };
    this.#expiry = gaugeOn(
      setup.registry,
      `${setup.metricPrefix}tls_certificate_expiry_timestamp_seconds`,
      'When the HTTPS port certificate in use expires (Unix time; 0: none yet)',
    ).labels();
    // The engine retries a failed order itself, with backoff; acme-client's own retries of one request
    // (up to 75 s on a refused connection by default) are kept short, so a round ends soon either way.
    const settings = (acme.axios.defaults as { acmeSettings?: Record<string, number> }).acmeSettings;
    if (settings) Object.assign(settings, { retryMaxAttempts: 2, retryDefaultDelay: 2 });
    acme.setLogger((message) => this.#logger.debug({ acme: message }, 'acme-client'));
  }

  attach(port: CertificatePort): void {
    this.#port = port;
    if (this.#current) this.#install(this.#current);
  }

  /** Uses a stored certificate at once when it is still good, then orders or renews in the background. */
  async start(): Promise<void> {
    await this.#storage.init().catch((err: NodeJS.ErrnoException) => {
      throw new Error(
        `server.tls.acme.storage: cannot use "${this.#config.storage}" (${err.code ?? err.message}); it needs a folder the gateway may write (in the image: the volume /data/acme)`,
      );
    });
    await this.#loadStored();
    this.#run();
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    clearTimeout(this.#timer);
    await this.#running;
  }

  health(): ComponentHealth {
    const c = this.#current;
    const detail: Record<string, unknown> = {
      domains: this.#config.domains,
      certificate: c
        ? {
            expires: new Date(c.notAfter).toISOString(),
            daysLeft: Math.floor((c.notAfter - Date.now()) / 86_400_000),
            renewAt: new Date(c.renewAt).toISOString(),
          }
        : 'none yet',
    };
    if (this.#failures > 0) {
      // The reason (it may name addresses) is in the log; /health says that it fails and when it tries again.
      detail.renewal = 'failing';
      detail.failures = this.#failures;
      if (this.#nextAttempt) detail.nextAttempt = new Date(this.#nextAttempt).toISOString();
    }
    return { healthy: c !== undefined && c.notAfter > Date.now() && this.#failures === 0, detail };
  }

  async httpChallenge(token: string): Promise<string | undefined> {
    if (!/^[A-Za-z0-9_-]+$/.test(token)) return undefined;
    return this.#http.get(token) ?? (await this.#storage.read(`challenges/${token}`));
  }

  async alpnChallenge(servername: string): Promise<ServerCertificate | undefined> {
    if (!this.#config.domains.includes(servername)) return undefined;
    const mine = this.#alpn.get(servername);
    if (mine) return mine;
    // Another instance may be ordering: its key authorization is in storage.
    const keyAuthorization = await this.#storage.read(`challenges/${ALPN_PREFIX}${servername}`);
    return keyAuthorization === undefined ? undefined : alpnCertificate(servername, keyAuthorization);
  }

  #run(delay = 0): void {
    if (this.#stopped) return;
    clearTimeout(this.#timer);
    this.#timer = setTimeout(
      () => {
        this.#running = this.#check().finally(() => {
          this.#running = undefined;
        });
      },
      Math.min(delay, RECHECK_MS),
    );
    this.#timer.unref();
  }

  /** One round: pick up what storage holds, and order when the certificate is missing or due. */
  async #check(): Promise<void> {
    let lock: AcmeLock | undefined;
    try {
      await this.#loadStored();
      if (this.#due() === false) return this.#run(this.#current!.renewAt - Date.now());
      lock = await this.#storage.lock();
      // Another instance is ordering; what it stores is read on the next round.
      if (!lock) return this.#run(LOCK_POLL_MS);
      await this.#loadStored();
      if (this.#due() === false) return this.#run(this.#current!.renewAt - Date.now());
      if (this.#stopped) return;
      await this.#order(lock);
      this.#failures = 0;
      this.#nextAttempt = undefined;
      this.#run(this.#current!.renewAt - Date.now());
    } catch (err) {
      this.#failures++;
      this.#orders.failure.inc();
      const base = Math.min(BACKOFF_MAX_MS, BACKOFF_MIN_MS * 2 ** (this.#failures - 1));
      const delay = Math.round(base * (0.8 + Math.random() * 0.4));
      this.#nextAttempt = Date.now() + delay;
      this.#logger.warn(
        {
          domains: this.#config.domains,
          failures: this.#failures,
          reason: String((err as Error)?.message ?? err).split('\n')[0],
          retryInSeconds: Math.round(delay / 1000),
          ...(this.#current && { expires: new Date(this.#current.notAfter).toISOString() }),
        },
        this.#current
          ? 'certificate renewal failed; the current certificate stays in use'
          : 'certificate order failed',
      );
      this.#run(delay);
    } finally {
      await lock?.release();
    }
  }

  /** false while the certificate in use is good and not yet due for renewal. */
  #due(): boolean {
    return this.#current === undefined || Date.now() >= this.#current.renewAt;
  }

  /** Installs the stored certificate when it is newer than the one in use and covers every domain. */
  async #loadStored(): Promise<void> {
    const text = await this.#storage.read(CERTIFICATE_FILE);
    const stored = text === undefined ? undefined : parseBundle(text);
    if (!stored || !covers(stored, this.#config.domains) || stored.notAfter <= Date.now()) return;
    if (this.#current && stored.notAfter <= this.#current.notAfter) return;
    this.#install(stored);
  }

  #install(cert: StoredCertificate): void {
    const lifetime = cert.notAfter - cert.notBefore;
    // A margin longer than two thirds of the lifetime would order again at once, forever: cap it.
    const margin = Math.min(this.#config.renewBefore, (lifetime * 2) / 3);
    // Instances (and gateways everywhere) do not all renew in the same second.
    const jitter = Math.random() * Math.min(60 * 60_000, margin * 0.05);
    const current = { ...cert, renewAt: cert.notAfter - margin - jitter };
    if (this.#port) {
      this.#port.install({ cert: cert.chain, key: cert.key });
      this.#logger.info(
        { domains: cert.names, serial: cert.serial, expires: new Date(cert.notAfter).toISOString() },
        'certificate installed',
      );
    }
    this.#current = current;
    this.#expiry.set(Math.floor(cert.notAfter / 1000));
  }

  async #accountClient(): Promise<acme.Client> {
    if (this.#client) return this.#client;
    let accountKey = await this.#storage.read('account.key');
    if (accountKey === undefined) {
      accountKey = (await acme.crypto.createPrivateEcdsaKey('P-256')).toString();
      await this.#storage.write('account.key', accountKey);
    }
    if (this.#config.directoryCa) {
      // acme-client talks to the CA through one axios instance: a private CA is trusted besides the usual roots.
      const ca = await readFile(this.#config.directoryCa, 'utf8');
      acme.axios.defaults.httpsAgent = new Agent({ ca: [...rootCertificates, ca] });
    }
    const saved = await this.#storage.read('account.json');
    const accountUrl = saved ? (JSON.parse(saved) as { url?: string }).url : undefined;
    this.#client = new acme.Client({
      directoryUrl: this.#config.directory,
      accountKey,
      ...(accountUrl && { accountUrl }),
      backoffAttempts: 10,
      backoffMin: 1_000,
      backoffMax: 30_000,
    });
    return this.#client;
  }

  async #order(lock: AcmeLock): Promise<void> {
    const { domains, challenge, email } = this.#config;
    this.#logger.info({ domains, challenge, directory: this.#config.directory }, 'ordering a certificate');
    const client = await this.#accountClient();
    const key = (await acme.crypto.createPrivateEcdsaKey('P-256')).toString();
    const [, csr] = await acme.crypto.createCsr({ commonName: domains[0]!, altNames: [...domains] }, key);
    const alive = setInterval(() => void lock.touch(), 60_000);
    alive.unref();
    let chain: string;
    try {
      chain = await client.auto({
        csr,
        ...(email && { email }),
        // Configuring `acme` is agreeing to the CA's terms of service (docs/deploying.md says so).
        termsOfServiceAgreed: true,
        // The CA checks from outside; a check from here would go through the router's hairpin, if at all.
        skipChallengeVerification: true,
        challengePriority: [challenge],
        challengeCreateFn: (authz, ch, keyAuthorization) => this.#offer(authz, ch, keyAuthorization),
        challengeRemoveFn: (authz, ch) => this.#withdraw(authz, ch),
      });
    } finally {
      clearInterval(alive);
    }
    if (!(await this.#storage.read('account.json'))) {
      await this.#storage.write('account.json', JSON.stringify({ url: client.getAccountUrl() }));
    }
    const text = bundle(key, chain);
    const issued = parseBundle(text);
    if (!issued) throw new Error('the CA sent a certificate that does not match the key');
    await this.#storage.write(CERTIFICATE_FILE, text);
    this.#orders.success.inc();
    this.#install(issued);
  }

  async #offer(authz: acme.Authorization, ch: { type: string; token: string }, keyAuthorization: string) {
    const name = authz.identifier.value;
    if (ch.type === 'http-01') {
      this.#http.set(ch.token, keyAuthorization);
      await this.#storage.write(`challenges/${ch.token}`, keyAuthorization);
    } else if (ch.type === 'tls-alpn-01') {
      this.#alpn.set(name, alpnCertificate(name, keyAuthorization));
      await this.#storage.write(`challenges/${ALPN_PREFIX}${name}`, keyAuthorization);
    } else {
      throw new Error(`challenge ${ch.type} is not one the gateway answers`);
    }
  }

  async #withdraw(authz: acme.Authorization, ch: { type: string; token: string }) {
    if (ch.type === 'http-01') {
      this.#http.delete(ch.token);
      await this.#storage.remove(`challenges/${ch.token}`);
    } else {
      const name = authz.identifier.value;
      this.#alpn.delete(name);
      await this.#storage.remove(`challenges/${ALPN_PREFIX}${name}`);
    }
  }
}

/** The self-signed certificate with the acmeIdentifier extension that answers tls-alpn-01 (RFC 8737 §3). */
async function alpnCertificate(name: string, keyAuthorization: string): Promise<ServerCertificate> {
  const authz = { identifier: { type: 'dns', value: name } } as acme.Authorization;
  const [key, cert] = await acme.crypto.createAlpnCertificate(authz, keyAuthorization);
  return { key, cert };
}
