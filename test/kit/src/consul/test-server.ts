/**
 * A Consul agent stand-in for tests, written from Consul's HTTP API docs, since no Consul
 * binary can be installed here. It keeps state in memory and speaks the parts of the API the
 * mesh uses: `X-Consul-Index` and blocking reads (`index`, `wait`, with wait/16 jitter),
 * `/v1/health/service` and `/v1/health/connect` (`passing`, `tag`, `dc`, `ns`), agent service
 * register/deregister, HTTP and TTL checks and their updates, the agent's Connect CA roots and
 * leaf certificates (real ones, from a test PKI), ACL tokens and TLS with client certificates.
 * It also lets a test do what no API call can: go down and come back, fail every request, or
 * move its index backwards.
 */
import { EventEmitter } from 'node:events';
import {
  createServer as createHttpServer,
  get as httpGet,
  type IncomingMessage,
  type Server,
  type ServerResponse,
} from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { Socket } from 'node:net';
import type { IssuedCert, Pki, TestCa } from './pki.js';

type Status = 'passing' | 'warning' | 'critical';

interface ServiceRecord {
  ID: string;
  Service: string;
  Kind: string;
  Tags: string[];
  Meta: Record<string, string>;
  Address: string;
  Port: number;
  Namespace: string;
  Weights: { Passing: number; Warning: number };
  Connect: { Native?: boolean } | undefined;
  Proxy: { DestinationServiceName?: string } | undefined;
  CreateIndex: number;
  ModifyIndex: number;
}

interface CheckRecord {
  CheckID: string;
  Name: string;
  Status: Status;
  Output: string;
  ServiceID: string;
  ServiceName: string;
  Namespace: string;
  Type: 'http' | 'ttl' | '';
  HTTP?: string;
  Interval?: string;
  Timeout?: string;
  TTL?: string;
  DeregisterCriticalServiceAfter?: string;
  CreateIndex: number;
  ModifyIndex: number;
  timer?: NodeJS.Timeout;
}

export interface SeenConsulRequest {
  method: string;
  path: string;
  query: Record<string, string>;
  token: string | undefined;
}

export interface ConsulTestServerOptions {
  datacenter?: string;
  nodeName?: string;
  /** When set, every request must carry this ACL token (`X-Consul-Token`, bearer, or `?token=`). */
  token?: string;
  /** Serve HTTPS; with `ca`, require client certificates signed by it. */
  tls?: { cert: string; key: string; ca?: string };
  /** Connect CA: issues real leaf certificates; without it the Connect endpoints answer 500 (Connect disabled). */
  pki?: { pki: Pki; trustDomain: string };
}

export interface ConsulTestServer {
  url: string;
  port: number;
  datacenter: string;
  trustDomain: string | undefined;
  /** Every request received, in order. */
  requests: SeenConsulRequest[];
  /** Resolves after the next request matching `path` (a prefix) has been received. */
  nextRequest(pathPrefix: string): Promise<SeenConsulRequest>;
  /**
   * Resolves once a request to `path` (exact) has been received whose `index` is at least
   * `index`: proof that the client processed the answer at that index (it asks from there on).
   */
  readFrom(path: string, index: number): Promise<void>;
  /** Blocking reads held open now (one per watch a client keeps). */
  blocking(): number;
  /** Goes down: stops listening and cuts every open connection (state is kept). */
  stop(): Promise<void>;
  /** Comes back on the same port. */
  start(): Promise<void>;
  /** Answers every request with this status (like an agent without a cluster leader), or stops doing so. */
  failRequests(status: number | undefined): void;
  /** Moves the index backwards (a server restored from an older snapshot). */
  resetIndex(): void;
  /** Issues a new leaf for `service` (as the agent does before expiry); resolves with the leaf's new index. */
  rotateLeaf(service: string): Promise<number>;
  /** Makes a new CA the active root (keeping the old one listed) and reissues every leaf under it; resolves with the roots' new index. */
  rotateCa(): Promise<number>;
  /** Stops for good (timers, sockets, listener). */
  close(): Promise<void>;
}

const MAX_WAIT_MS = 10 * 60_000;

/**
 * Starts the stand-in on a loopback port.
 *
 * @example const consul = await startConsulTestServer(); // consul.url -> http://127.0.0.1:PORT
 */
export async function startConsulTestServer(opts: ConsulTestServerOptions = {}): Promise<ConsulTestServer> {
  const datacenter = opts.datacenter ?? 'dc1';
  const nodeName = opts.nodeName ?? 'test-node';
  const nodeId = '2d9d2b5c-5d1e-4f87-9e0c-6f0e5e2b1c11';
  const services = new Map<string, ServiceRecord>();
  const checks = new Map<string, CheckRecord>();
  /** Last index that changed anything about a service name (its health answer). */
  const serviceIndex = new Map<string, number>();
  const leaves = new Map<string, { cert: IssuedCert; index: number }>();
  const issuing = new Map<string, Promise<void>>();
  const changes = new EventEmitter();
  changes.setMaxListeners(0);
  const requests: SeenConsulRequest[] = [];
  const sockets = new Set<Socket>();
  let index = 10;
  let failing: number | undefined;
  let held = 0;
  let closed = false;
  const cas: TestCa[] = [];
  let caIndex = 0;
  const caReady = opts.pki
    ? opts.pki.pki.createCa().then((ca) => {
        cas.push(ca);
        caIndex = bump();
      })
    : Promise.resolve();

  function bump(): number {
    index += 1;
    return index;
  }

  function touch(serviceName: string): void {
    serviceIndex.set(serviceName, bump());
    changes.emit('change');
  }

  const server: Server = opts.tls
    ? createHttpsServer(
        {
          cert: opts.tls.cert,
          key: opts.tls.key,
          ...(opts.tls.ca ? { ca: opts.tls.ca, requestCert: true, rejectUnauthorized: true } : {}),
        },
        handle,
      )
    : createHttpServer(handle);
  server.on(opts.tls ? 'secureConnection' : 'connection', (socket: Socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  // TLS handshakes that fail never reach 'secureConnection'; track the raw sockets too.
  if (opts.tls) {
    server.on('connection', (socket: Socket) => {
      sockets.add(socket);
      socket.on('close', () => sockets.delete(socket));
    });
  }

  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;
  await caReady;

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://consul');
    const query = Object.fromEntries(url.searchParams);
    const token = headerToken(req) ?? url.searchParams.get('token') ?? undefined;
    const seen = { method: req.method ?? 'GET', path: url.pathname, query, token };
    requests.push(seen);
    changes.emit('request', seen);
    const body = await readBody(req);
    try {
      if (failing !== undefined) return send(res, failing, 'No cluster leader');
      if (opts.token !== undefined && token !== opts.token) return send(res, 403, 'ACL not found');
      const dc = url.searchParams.get('dc');
      if (dc && dc !== datacenter) return send(res, 500, `No path to datacenter`);
      await route(req.method ?? 'GET', url, body, req, res);
    } catch (err) {
      send(res, err instanceof HttpError ? err.status : 500, (err as Error).message);
    }
  }

  async function route(method: string, url: URL, body: string, req: IncomingMessage, res: ServerResponse) {
    const p = url.pathname;
    const on = (want: string, re: RegExp) => (method === want ? re.exec(p) : null);
    const m1 = on('GET', /^\/v1\/health\/(service|connect)\/([^/]+)$/);
    if (m1) {
      const name = decodeURIComponent(m1[2]!);
      const connect = m1[1] === 'connect';
      const ns = namespaceOf(url, req);
      const key = () => serviceIndex.get(name) ?? 1;
      await block(url, res, key);
      if (res.destroyed || res.headersSent) return;
      if (failing !== undefined) return send(res, failing, 'No cluster leader');
      return sendJson(res, healthEntries(name, connect, ns, url), key());
    }
    if (method === 'PUT' && p === '/v1/agent/service/register') {
      register(parseJson(body), namespaceOf(url, req));
      return sendJson(res, null);
    }
    const m2 = on('PUT', /^\/v1\/agent\/service\/deregister\/(.+)$/);
    if (m2) {
      const id = decodeURIComponent(m2[1]!);
      if (!services.has(id))
        return send(
          res,
          404,
          `Unknown service ID "${id}". Ensure that the service ID is passed, not the service name.`,
        );
      deregister(id);
      return sendJson(res, null);
    }
    if (method === 'GET' && p === '/v1/agent/services') {
      return sendJson(res, Object.fromEntries([...services.values()].map((s) => [s.ID, agentService(s)])));
    }
    const m3 = on('GET', /^\/v1\/agent\/service\/(.+)$/);
    if (m3) {
      const s = services.get(decodeURIComponent(m3[1]!));
      if (!s) return send(res, 404, 'unknown service ID');
      return sendJson(res, agentService(s));
    }
    if (method === 'GET' && p === '/v1/agent/checks') {
      return sendJson(res, Object.fromEntries([...checks.values()].map((c) => [c.CheckID, checkView(c)])));
    }
    const m4 = on('PUT', /^\/v1\/agent\/check\/(pass|warn|fail|update)\/(.+)$/);
    if (m4) {
      const check = checks.get(decodeURIComponent(m4[2]!));
      if (!check) return send(res, 404, `Unknown check ID "${m4[2]}"`);
      if (check.Type !== 'ttl')
        return send(res, 500, `CheckID "${check.CheckID}" does not have associated TTL`);
      const update =
        m4[1] === 'update' ? (parseJson(body) as { Status?: string; Output?: string }) : undefined;
      const status = update
        ? update.Status
        : ({ pass: 'passing', warn: 'warning', fail: 'critical' } as const)[m4[1] as 'pass'];
      if (status !== 'passing' && status !== 'warning' && status !== 'critical')
        return send(res, 400, 'Invalid status');
      setStatus(check, status, update?.Output ?? url.searchParams.get('note') ?? '');
      armTtl(check);
      return sendJson(res, null);
    }
    if (method === 'GET' && p === '/v1/agent/self') {
      return sendJson(res, {
        Config: { Datacenter: datacenter, NodeName: nodeName, NodeID: nodeId, Version: '1.21.0-test' },
        Member: { Name: nodeName, Addr: '127.0.0.1', Port: 8301, Status: 1 },
      });
    }
    if (method === 'GET' && p === '/v1/status/leader') return sendJson(res, '127.0.0.1:8300');
    if (method === 'GET' && p === '/v1/agent/connect/ca/roots') {
      if (!opts.pki) return send(res, 500, 'Connect must be enabled in order to use this endpoint');
      await block(url, res, () => caIndex);
      if (res.destroyed || res.headersSent) return;
      if (failing !== undefined) return send(res, failing, 'No cluster leader');
      return sendJson(res, roots(), caIndex);
    }
    const m5 = on('GET', /^\/v1\/agent\/connect\/ca\/leaf\/([^/]+)$/);
    if (m5) {
      if (!opts.pki) return send(res, 500, 'Connect must be enabled in order to use this endpoint');
      const service = decodeURIComponent(m5[1]!);
      if (!leaves.has(service)) await issueLeaf(service);
      await block(url, res, () => leaves.get(service)!.index);
      if (res.destroyed || res.headersSent) return;
      if (failing !== undefined) return send(res, failing, 'No cluster leader');
      const leaf = leaves.get(service)!;
      return sendJson(
        res,
        {
          SerialNumber: leaf.cert.serial,
          CertPEM: leaf.cert.cert,
          PrivateKeyPEM: leaf.cert.key,
          Service: service,
          ServiceURI: spiffe(service),
          ValidAfter: leaf.cert.validAfter,
          ValidBefore: leaf.cert.validBefore,
          CreateIndex: leaf.index,
          ModifyIndex: leaf.index,
        },
        leaf.index,
      );
    }
    return send(res, 404, `no handler for ${method} ${p}`);
  }

  /** Holds a read while its resource's index is not past the client's, up to `wait` plus jitter. */
  async function block(url: URL, res: ServerResponse, current: () => number): Promise<void> {
    const raw = url.searchParams.get('index');
    if (raw === null) return;
    const since = Number(raw);
    if (!Number.isFinite(since) || since <= 0 || current() > since) return;
    let wait = parseGoDuration(url.searchParams.get('wait') ?? '') ?? 5 * 60_000;
    wait = Math.min(wait, MAX_WAIT_MS);
    wait += Math.floor(Math.random() * (wait / 16));
    held++;
    await new Promise<void>((resolve) => {
      let open = true;
      const done = () => {
        if (!open) return;
        open = false;
        held--;
        clearTimeout(timer);
        changes.off('change', check);
        res.off('close', done);
        resolve();
      };
      const check = () => {
        if (current() > since || failing !== undefined || closed) done();
      };
      const timer = setTimeout(done, wait);
      changes.on('change', check);
      res.on('close', done);
    });
  }

  function healthEntries(name: string, connect: boolean, ns: string, url: URL) {
    const passingOnly = url.searchParams.has('passing') && url.searchParams.get('passing') !== 'false';
    const tags = url.searchParams.getAll('tag');
    const out = [];
    for (const s of services.values()) {
      if (ns !== '*' && s.Namespace !== ns) continue;
      const matches = connect
        ? (s.Service === name && s.Connect?.Native === true) ||
          (s.Kind === 'connect-proxy' && s.Proxy?.DestinationServiceName === name)
        : s.Service === name && s.Kind === '';
      if (!matches) continue;
      if (!tags.every((t) => s.Tags.includes(t))) continue;
      const own = [...checks.values()].filter((c) => c.ServiceID === s.ID);
      if (passingOnly && own.some((c) => c.Status !== 'passing')) continue;
      out.push({
        Node: { ID: nodeId, Node: nodeName, Address: '127.0.0.1', Datacenter: datacenter, Meta: {} },
        Service: agentService(s),
        Checks: [
          {
            Node: nodeName,
            CheckID: 'serfHealth',
            Name: 'Serf Health Status',
            Status: 'passing',
            ServiceID: '',
            ServiceName: '',
            Output: 'Agent alive and reachable',
          },
          ...own.map(checkView),
        ],
      });
    }
    return out;
  }

  function register(input: unknown, nsFromQuery: string): void {
    const b = ci(input);
    const name = str(b.name);
    if (!name) throw new HttpError(400, 'Missing service name');
    const id = str(b.id) || name;
    const kind = str(b.kind);
    const namespace = str(b.namespace) || nsFromQuery || 'default';
    const previous = services.get(id);
    if (previous && previous.Service !== name) touch(previous.Service);
    const weights = ci(b.weights);
    const connect = b.connect === undefined ? undefined : ci(b.connect);
    const proxy = b.proxy === undefined ? undefined : ci(b.proxy);
    const record: ServiceRecord = {
      ID: id,
      Service: name,
      Kind: kind,
      Tags: Array.isArray(b.tags) ? (b.tags as string[]) : [],
      Meta: (b.meta as Record<string, string>) ?? {},
      Address: str(b.address),
      Port: Number(b.port ?? 0),
      Namespace: namespace,
      Weights: { Passing: Number(weights.passing ?? 1), Warning: Number(weights.warning ?? 1) },
      Connect: connect && { Native: connect.native === true },
      Proxy: proxy && { DestinationServiceName: str(proxy.destinationservicename) },
      CreateIndex: previous?.CreateIndex ?? index + 1,
      ModifyIndex: index + 1,
    };
    services.set(id, record);
    const defs = Array.isArray(b.checks) ? (b.checks as unknown[]) : b.check ? [b.check] : [];
    const keep = new Set<string>();
    defs.forEach((def, i) => {
      const c = ci(def);
      const checkId =
        str(c.checkid) || str(c.id) || (defs.length === 1 ? `service:${id}` : `service:${id}:${i + 1}`);
      keep.add(checkId);
      const existing = checks.get(checkId);
      if (existing?.timer) clearInterval(existing.timer);
      const check: CheckRecord = {
        CheckID: checkId,
        Name: str(c.name) || `Service '${name}' check`,
        Status: existing?.Status ?? ((str(c.status) as Status) || 'critical'),
        Output: existing?.Output ?? '',
        ServiceID: id,
        ServiceName: name,
        Namespace: namespace,
        Type: c.http ? 'http' : c.ttl ? 'ttl' : '',
        ...(c.http ? { HTTP: str(c.http), Interval: str(c.interval), Timeout: str(c.timeout) } : {}),
        ...(c.ttl ? { TTL: str(c.ttl) } : {}),
        ...(c.deregistercriticalserviceafter
          ? { DeregisterCriticalServiceAfter: str(c.deregistercriticalserviceafter) }
          : {}),
        CreateIndex: existing?.CreateIndex ?? index + 1,
        ModifyIndex: index + 1,
      };
      checks.set(checkId, check);
      if (check.Type === 'http') startHttpCheck(check);
      if (check.Type === 'ttl') armTtl(check);
    });
    for (const c of [...checks.values()]) {
      if (c.ServiceID === id && !keep.has(c.CheckID)) removeCheck(c);
    }
    touch(name);
  }

  function deregister(id: string): void {
    const s = services.get(id)!;
    services.delete(id);
    for (const c of [...checks.values()]) if (c.ServiceID === id) removeCheck(c);
    touch(s.Service);
  }

  function removeCheck(c: CheckRecord): void {
    if (c.timer) clearInterval(c.timer);
    checks.delete(c.CheckID);
  }

  function setStatus(check: CheckRecord, status: Status, output: string): void {
    check.Output = output;
    if (check.Status === status) return;
    check.Status = status;
    check.ModifyIndex = index + 1;
    touch(check.ServiceName);
  }

  function startHttpCheck(check: CheckRecord): void {
    const interval = Math.max(parseGoDuration(check.Interval ?? '') ?? 10_000, 50);
    const timeout = parseGoDuration(check.Timeout ?? '') ?? 10_000;
    const runOnce = async () => {
      if (closed || checks.get(check.CheckID) !== check) return;
      let status: Status;
      let output: string;
      try {
        const code = await httpCheck(check.HTTP!, timeout);
        status = code >= 200 && code < 300 ? 'passing' : code === 429 ? 'warning' : 'critical';
        output = `HTTP GET ${check.HTTP}: ${code}`;
      } catch (err) {
        status = 'critical';
        output = `HTTP GET ${check.HTTP}: ${(err as Error).message}`;
      }
      if (!closed && checks.get(check.CheckID) === check) setStatus(check, status, output);
    };
    void runOnce();
    check.timer = setInterval(runOnce, interval);
    check.timer.unref();
  }

  function armTtl(check: CheckRecord): void {
    if (check.Type !== 'ttl') return;
    if (check.timer) clearTimeout(check.timer);
    const ttl = parseGoDuration(check.TTL ?? '') ?? 30_000;
    check.timer = setTimeout(() => setStatus(check, 'critical', 'TTL expired'), ttl);
    check.timer.unref();
  }

  function spiffe(service: string): string {
    return `spiffe://${opts.pki!.trustDomain}/ns/default/dc/${datacenter}/svc/${service}`;
  }

  async function issueLeaf(service: string): Promise<void> {
    const pending = issuing.get(service);
    if (pending) return pending;
    const work = (async () => {
      const ca = cas[cas.length - 1]!;
      const cert = await opts.pki!.pki.issue(
        ca,
        { uris: [spiffe(service)], dns: [`${service}.svc.default.${opts.pki!.trustDomain}`] },
        service,
      );
      leaves.set(service, { cert, index: bump() });
      changes.emit('change');
    })();
    issuing.set(service, work);
    try {
      await work;
    } finally {
      issuing.delete(service);
    }
  }

  function roots() {
    const active = cas[cas.length - 1]!;
    return {
      ActiveRootID: active.id,
      TrustDomain: opts.pki!.trustDomain,
      Roots: cas.map((ca) => ({
        ID: ca.id,
        Name: `Test CA ${ca.id}`,
        RootCert: ca.cert,
        IntermediateCerts: null,
        Active: ca === active,
        CreateIndex: caIndex,
        ModifyIndex: caIndex,
      })),
    };
  }

  const nextRequest = (prefix: string) =>
    new Promise<SeenConsulRequest>((resolve) => {
      const on = (seen: SeenConsulRequest) => {
        if (!seen.path.startsWith(prefix)) return;
        changes.off('request', on);
        resolve(seen);
      };
      changes.on('request', on);
    });

  const readFrom = (path: string, atLeast: number) =>
    new Promise<void>((resolve) => {
      const matches = (r: SeenConsulRequest) => r.path === path && Number(r.query.index ?? 0) >= atLeast;
      if (requests.some(matches)) return resolve();
      const on = (seen: SeenConsulRequest) => {
        if (!matches(seen)) return;
        changes.off('request', on);
        resolve();
      };
      changes.on('request', on);
    });

  const stop = async () => {
    const closing = new Promise<void>((resolve) => server.close(() => resolve()));
    for (const s of sockets) s.destroy();
    await closing;
  };

  return {
    url: `${opts.tls ? 'https' : 'http'}://127.0.0.1:${port}`,
    port,
    datacenter,
    trustDomain: opts.pki?.trustDomain,
    requests,
    nextRequest,
    blocking: () => held,
    readFrom,
    stop,
    async start() {
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(port, '127.0.0.1', () => {
          server.off('error', reject);
          resolve();
        });
      });
    },
    failRequests(status) {
      failing = status;
      changes.emit('change');
    },
    resetIndex() {
      index = 1;
      for (const name of serviceIndex.keys()) serviceIndex.set(name, 1);
      caIndex = Math.min(caIndex, 1);
      for (const leaf of leaves.values()) leaf.index = 1;
    },
    async rotateLeaf(service) {
      await issueLeaf(service);
      return leaves.get(service)!.index;
    },
    async rotateCa() {
      cas.push(await opts.pki!.pki.createCa());
      caIndex = bump();
      changes.emit('change');
      for (const service of [...leaves.keys()]) await issueLeaf(service);
      return caIndex;
    },
    async close() {
      closed = true;
      changes.emit('change');
      for (const c of checks.values()) if (c.timer) clearInterval(c.timer);
      if (server.listening) await stop();
    },
  };
}

class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

function agentService(s: ServiceRecord) {
  return {
    ID: s.ID,
    Service: s.Service,
    Kind: s.Kind || undefined,
    Tags: s.Tags,
    Meta: s.Meta,
    Address: s.Address,
    Port: s.Port,
    Namespace: s.Namespace,
    Weights: s.Weights,
    ...(s.Connect ? { Connect: s.Connect } : {}),
    ...(s.Proxy ? { Proxy: s.Proxy } : {}),
    CreateIndex: s.CreateIndex,
    ModifyIndex: s.ModifyIndex,
  };
}

function checkView(c: CheckRecord) {
  const { timer: _timer, ...view } = c;
  return view;
}

/** Consul decodes JSON field names case-insensitively; so does this stand-in. */
function ci(value: unknown): Record<string, unknown> {
  if (!value || typeof value !== 'object') return {};
  return Object.fromEntries(Object.entries(value).map(([k, v]) => [k.toLowerCase(), v]));
}

function str(v: unknown): string {
  return typeof v === 'string' ? v : '';
}

function namespaceOf(url: URL, req: IncomingMessage): string {
  return url.searchParams.get('ns') || (req.headers['x-consul-namespace'] as string | undefined) || 'default';
}

function headerToken(req: IncomingMessage): string | undefined {
  const h = req.headers['x-consul-token'];
  if (typeof h === 'string') return h;
  const auth = req.headers.authorization;
  if (auth?.toLowerCase().startsWith('bearer ')) return auth.slice(7);
  return undefined;
}

/** One check request; like Consul's checks, without keep-alive, so no connection outlives it. */
function httpCheck(url: string, timeout: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = httpGet(
      url,
      { agent: false, headers: { connection: 'close', 'user-agent': 'Consul Health Check' }, timeout },
      (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
        res.on('error', reject);
      },
    );
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', reject);
  });
}

function parseJson(body: string): unknown {
  try {
    return body ? JSON.parse(body) : {};
  } catch {
    throw new HttpError(400, 'Request decode failed');
  }
}

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

function send(res: ServerResponse, status: number, text: string): void {
  if (res.headersSent || res.destroyed) return;
  res.writeHead(status, {
    'content-type': 'text/plain; charset=utf-8',
    'content-length': Buffer.byteLength(text),
  });
  res.end(text);
}

function sendJson(res: ServerResponse, value: unknown, index?: number): void {
  if (res.headersSent || res.destroyed) return;
  const body = JSON.stringify(value);
  res.writeHead(200, {
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(body),
    ...(index !== undefined
      ? { 'x-consul-index': String(index), 'x-consul-knownleader': 'true', 'x-consul-lastcontact': '0' }
      : {}),
  });
  res.end(body);
}

/** Go's `time.ParseDuration` for the units Consul users write: `55s`, `1m30s`, `500ms`, `1h`. */
export function parseGoDuration(text: string): number | undefined {
  if (!text) return undefined;
  const units: Record<string, number> = {
    ns: 1e-6,
    us: 1e-3,
    µs: 1e-3,
    ms: 1,
    s: 1_000,
    m: 60_000,
    h: 3_600_000,
  };
  let total = 0;
  let rest = text;
  while (rest) {
    const m = /^(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)/.exec(rest);
    if (!m) return undefined;
    total += Number(m[1]) * units[m[2]!]!;
    rest = rest.slice(m[0].length);
  }
  return total;
}
