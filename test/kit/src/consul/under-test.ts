/**
 * The Consul a test talks to: a real agent when `CONSUL_HTTP_ADDR` is set (token from
 * `CONSUL_HTTP_TOKEN`), else the stand-in from test-server.ts. Tests drive it only
 * through Consul's HTTP API, so one suite runs against both; what only the stand-in can do
 * (go down, fail, rotate on demand) is on `server`, and those tests skip on a real agent.
 */
import { randomBytes } from 'node:crypto';
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { CaRoots, LeafCert } from '@lucid/mesh-consul';
import { type ConsulTestServer, type ConsulTestServerOptions, startConsulTestServer } from './test-server.js';

export const realAgent = Boolean(process.env.CONSUL_HTTP_ADDR);

export interface InstanceSpec {
  name: string;
  id?: string;
  address?: string;
  port: number;
  tags?: string[];
  meta?: Record<string, string>;
  /** Registers as a Connect-native service (listed by `/v1/health/connect`). */
  native?: boolean;
  namespace?: string;
  status?: 'passing' | 'warning' | 'critical';
}

export interface ConsulUnderTest {
  url: string;
  token: string | undefined;
  /** The stand-in; undefined against a real agent. */
  server: ConsulTestServer | undefined;
  /** One raw exchange with the token applied. */
  raw(method: string, path: string, body?: unknown): Promise<RawAnswer>;
  /** A service name no other test (or earlier run against a real agent) uses. */
  unique(base: string): string;
  /** Registers an instance with a TTL check set to `status` (default passing); returns its id. */
  registerInstance(spec: InstanceSpec): Promise<string>;
  setHealth(id: string, status: 'passing' | 'warning' | 'critical'): Promise<void>;
  deregister(id: string): Promise<void>;
  agentServices(): Promise<
    Record<
      string,
      {
        ID: string;
        Service: string;
        Port: number;
        Tags: string[];
        Meta: Record<string, string>;
        Address: string;
      }
    >
  >;
  agentChecks(): Promise<
    Record<
      string,
      {
        CheckID: string;
        ServiceID: string;
        Status: string;
        Type?: string;
        HTTP?: string;
        Definition?: { HTTP?: string };
      }
    >
  >;
  leaf(service: string): Promise<LeafCert>;
  roots(): Promise<CaRoots>;
  /** Deregisters what this handle registered and closes the stand-in. */
  close(): Promise<void>;
}

export interface CallOptions {
  token?: string | undefined;
  tls?: { ca?: string; cert?: string; key?: string };
}

export interface RawAnswer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
}

/** One raw HTTP exchange with Consul, any status. */
export function consulRaw(
  base: string,
  method: string,
  path: string,
  body?: unknown,
  opts: CallOptions = {},
): Promise<RawAnswer> {
  const url = new URL(path, base);
  const payload = body === undefined ? undefined : JSON.stringify(body);
  const send = url.protocol === 'https:' ? httpsRequest : httpRequest;
  return new Promise<RawAnswer>((resolve, reject) => {
    const req = send(
      url,
      {
        method,
        agent: false,
        headers: {
          ...(opts.token ? { 'x-consul-token': opts.token } : {}),
          ...(payload
            ? { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) }
            : {}),
        },
        ...(opts.tls ?? {}),
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () =>
          resolve({
            status: res.statusCode ?? 0,
            headers: res.headers,
            text: Buffer.concat(chunks).toString('utf8'),
          }),
        );
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(payload);
  });
}

/** One call to Consul's HTTP API (the test's own hand on Consul, separate from the code under test); throws unless 2xx. */
export async function consulCall<T>(
  base: string,
  method: string,
  path: string,
  body?: unknown,
  opts: CallOptions = {},
): Promise<T> {
  const answer = await consulRaw(base, method, path, body, opts);
  if (answer.status >= 300) throw new Error(`${method} ${path}: ${answer.status} ${answer.text}`);
  try {
    return (answer.text ? JSON.parse(answer.text) : null) as T;
  } catch {
    return answer.text as T;
  }
}

/** The Consul for one test file; call close() in afterEach/afterAll. */
export async function consulUnderTest(
  serverOptions: ConsulTestServerOptions = {},
  callOptions: CallOptions = {},
): Promise<ConsulUnderTest> {
  const server = realAgent ? undefined : await startConsulTestServer(serverOptions);
  const url = server?.url ?? normalize(process.env.CONSUL_HTTP_ADDR!);
  const token = server ? serverOptions.token : process.env.CONSUL_HTTP_TOKEN || undefined;
  const call = <T>(method: string, path: string, body?: unknown) =>
    consulCall<T>(url, method, path, body, { token, ...callOptions });
  const registered = new Set<string>();
  const run = randomBytes(3).toString('hex');

  return {
    url,
    token,
    server,
    unique: (base) => `${base}-${run}`,
    raw: (method, path, body) => consulRaw(url, method, path, body, { token, ...callOptions }),
    async registerInstance(spec) {
      const id = spec.id ?? `${spec.name}-${spec.port}`;
      await call('PUT', `/v1/agent/service/register${spec.namespace ? `?ns=${spec.namespace}` : ''}`, {
        Name: spec.name,
        ID: id,
        Address: spec.address ?? '127.0.0.1',
        Port: spec.port,
        Tags: spec.tags ?? [],
        Meta: spec.meta ?? {},
        ...(spec.native ? { Connect: { Native: true } } : {}),
        Check: {
          CheckID: `service:${id}`,
          Name: `${spec.name} ttl`,
          TTL: '10m',
          Status: spec.status ?? 'passing',
        },
      });
      registered.add(id);
      return id;
    },
    async setHealth(id, status) {
      const verb = { passing: 'pass', warning: 'warn', critical: 'fail' }[status];
      await call('PUT', `/v1/agent/check/${verb}/service:${encodeURIComponent(id)}`);
    },
    async deregister(id) {
      await call('PUT', `/v1/agent/service/deregister/${encodeURIComponent(id)}`);
      registered.delete(id);
    },
    agentServices: () => call('GET', '/v1/agent/services'),
    agentChecks: () => call('GET', '/v1/agent/checks'),
    leaf: (service) => call('GET', `/v1/agent/connect/ca/leaf/${encodeURIComponent(service)}`),
    roots: () => call('GET', '/v1/agent/connect/ca/roots'),
    async close() {
      if (server) {
        await server.close();
        return;
      }
      for (const id of registered)
        await call('PUT', `/v1/agent/service/deregister/${encodeURIComponent(id)}`).catch(() => {});
    },
  };
}

function normalize(addr: string): string {
  return /^[a-z]+:\/\//i.test(addr) ? addr.replace(/\/+$/, '') : `http://${addr}`;
}

/** Resolves when `predicate` holds after one of `events` fires (checked at once, too). */
export function until(
  predicate: () => boolean,
  subscribe: (notify: () => void) => () => void,
): Promise<void> {
  return new Promise((resolve) => {
    if (predicate()) return resolve();
    const unsubscribe = subscribe(() => {
      if (!predicate()) return;
      unsubscribe();
      resolve();
    });
  });
}
