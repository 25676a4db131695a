import { EventEmitter } from 'node:events';
import { readFileSync } from 'node:fs';
import { Agent as HttpAgent } from 'node:http';
import { Agent as HttpsAgent } from 'node:https';
import { createRequire } from 'node:module';
import type { ConnectionOptions } from 'node:tls';
import type Consul from 'consul';
import { consulTlsFromEnv } from '../config/env.js';
import type { ConsulConfig } from '../config/schema.js';
import type { AgentServiceRegistration, CaRoots, HealthEntry, LeafCert } from './types.js';

/** One answer of a (possibly blocking) read: the body and the `X-Consul-Index` it was read at. */
export interface Indexed<T> {
  body: T;
  index: bigint | undefined;
}

/** papi's per-request context: it aborts the request when the context emits `cancel`. */
class RequestContext extends EventEmitter {
  /** Makes the consul client resolve `[response, body]`, so the `X-Consul-Index` header can be read. */
  readonly includeResponse = true;
  /** Extra query parameters the consul client has no option for (the namespace). */
  readonly query: Record<string, string>;
  constructor(query: Record<string, string>) {
    super();
    this.query = query;
  }
}

export interface BlockingParams {
  /** The last `X-Consul-Index` seen; 0 reads at once without blocking. */
  index: bigint;
  /** Milliseconds the agent may hold the request. */
  wait: number;
  signal: AbortSignal;
}

export interface HealthQuery {
  service: string;
  tag?: string | undefined;
  dc?: string | undefined;
  ns?: string | undefined;
  /** `health/connect`: Connect-capable instances (sidecar proxies, native services) instead of the service's own port. */
  connect?: boolean;
}

/** The Consul calls the mesh needs, typed; built on the `consul` client (agent, health) and its papi transport. */
export interface ConsulApi {
  health(query: HealthQuery, params: BlockingParams): Promise<Indexed<HealthEntry[]>>;
  register(service: AgentServiceRegistration, timeout?: number): Promise<void>;
  deregister(id: string, timeout?: number): Promise<void>;
  caRoots(params: BlockingParams): Promise<Indexed<CaRoots>>;
  leaf(service: string, params: BlockingParams): Promise<Indexed<LeafCert>>;
  /** Closes pooled connections to the agent. */
  destroy(): void;
}

type PapiResponse = { headers: Record<string, string | string[] | undefined>; body?: unknown };
type PapiRequest = {
  name: string;
  path: string;
  params?: Record<string, string>;
  query?: Record<string, string>;
  headers?: Record<string, string>;
  ctx?: EventEmitter;
  timeout?: number;
};
/** papi's documented request method and extension hook, which the consul client inherits. */
interface PapiClient {
  _get(req: PapiRequest): Promise<PapiResponse>;
  _ext(event: 'onCreate', fn: (request: PapiPipelineRequest, next: () => void) => void): void;
}
type CallOptions = Record<string, unknown>;
interface ConsulCalls {
  health: { service(opts: CallOptions): Promise<unknown> };
  agent: {
    service: {
      register(opts: CallOptions): Promise<unknown>;
      deregister(opts: CallOptions): Promise<unknown>;
    };
  };
}
type PapiPipelineRequest = { ctx?: unknown; opts: { query: Record<string, string> } };

/**
 * Builds the Consul client from the `mesh.consul` config: address, ACL token, TLS to the agent.
 *
 * @example const api = createConsulApi(meshConfigSchema.parse({}).consul)
 */
export function createConsulApi(config: ConsulConfig): ConsulApi {
  const secure = config.url.startsWith('https:');
  const tls = secure ? agentTls(config) : undefined;
  // Our own pool, so destroy() closes idle keep-alive sockets on shutdown.
  const agent = secure ? new HttpsAgent({ keepAlive: true, ...tls }) : new HttpAgent({ keepAlive: true });
  // Loaded here, not with the package: the CLI imports every plugin package for its config schema.
  const ConsulClient = createRequire(import.meta.url)('consul') as typeof Consul;
  const consul = new ConsulClient({
    baseUrl: `${config.url}/v1`,
    agent,
    ...(config.token ? { defaults: { token: config.token } } : {}),
    ...tls,
  } as ConstructorParameters<typeof Consul>[0]);
  // The client's typings lack papi's per-call `ctx` and `timeout`, which the calls below pass.
  const client = consul as unknown as ConsulCalls;
  const papi = consul as unknown as PapiClient;
  // The consul client has no `ns` option: carry extra query parameters on the request's ctx.
  papi._ext('onCreate', (request, next) => {
    if (request.ctx instanceof RequestContext) Object.assign(request.opts.query, request.ctx.query);
    next();
  });
  const tokenHeader: Record<string, string> = config.token ? { 'x-consul-token': config.token } : {};

  /** Runs one read with the request's abort signal wired to papi's cancel. */
  const withContext = async <T>(
    params: BlockingParams,
    query: Record<string, string>,
    run: (ctx: RequestContext, timeout: number) => Promise<T>,
  ): Promise<T> => {
    params.signal.throwIfAborted();
    const ctx = new RequestContext(query);
    const abort = () => ctx.emit('cancel');
    params.signal.addEventListener('abort', abort, { once: true });
    try {
      // Consul adds up to wait/16 of jitter to a blocking read; allow that plus a margin.
      return await run(ctx, params.wait + Math.ceil(params.wait / 16) + 5_000);
    } finally {
      params.signal.removeEventListener('abort', abort);
    }
  };

  return {
    health(query, params) {
      const extra: Record<string, string> = query.ns ? { ns: query.ns } : {};
      return withContext(params, extra, async (ctx, timeout) => {
        if (query.connect) {
          // health/connect has no method in the consul client; same transport, same options.
          const res = await papi._get({
            name: 'health.connect',
            path: '/health/connect/{service}',
            params: { service: query.service },
            query: {
              passing: 'true',
              ...(query.tag ? { tag: query.tag } : {}),
              ...(query.dc ? { dc: query.dc } : {}),
              ...blockingQuery(params),
            },
            headers: tokenHeader,
            ctx,
            timeout,
          });
          return { body: asArray<HealthEntry>(res.body), index: readIndex(res) };
        }
        const [res, body] = (await client.health.service({
          service: query.service,
          passing: true,
          ...(query.tag ? { tag: query.tag } : {}),
          ...(query.dc ? { dc: query.dc } : {}),
          ...(params.index > 0n ? { index: params.index.toString(), wait: `${params.wait}ms` } : {}),
          timeout,
          ctx,
        })) as [PapiResponse, unknown];
        return { body: asArray<HealthEntry>(body), index: readIndex(res) };
      });
    },

    async register(service, timeout = 10_000) {
      await client.agent.service.register({ ...service, timeout });
    },

    async deregister(id, timeout = 10_000) {
      await client.agent.service.deregister({ id, timeout });
    },

    // The consul client has no agent Connect CA calls; papi's request method reaches them with the same transport.
    caRoots(params) {
      return withContext(params, {}, async (ctx, timeout) => {
        const res = await papi._get({
          name: 'agent.connect.ca.roots',
          path: '/agent/connect/ca/roots',
          query: blockingQuery(params),
          headers: tokenHeader,
          ctx,
          timeout,
        });
        return { body: res.body as CaRoots, index: readIndex(res) };
      });
    },

    leaf(service, params) {
      return withContext(params, {}, async (ctx, timeout) => {
        const res = await papi._get({
          name: 'agent.connect.ca.leaf',
          path: '/agent/connect/ca/leaf/{service}',
          params: { service },
          query: blockingQuery(params),
          headers: tokenHeader,
          ctx,
          timeout,
        });
        return { body: res.body as LeafCert, index: readIndex(res) };
      });
    },

    destroy() {
      consul.destroy();
    },
  };
}

function blockingQuery(params: BlockingParams): Record<string, string> {
  return params.index > 0n ? { index: params.index.toString(), wait: `${params.wait}ms` } : {};
}

function readIndex(res: PapiResponse): bigint | undefined {
  const raw = res.headers['x-consul-index'];
  const value = Array.isArray(raw) ? raw[0] : raw;
  if (!value || !/^\d+$/.test(value)) return undefined;
  return BigInt(value);
}

function asArray<T>(body: unknown): T[] {
  return Array.isArray(body) ? (body as T[]) : [];
}

function agentTls(config: ConsulConfig): ConnectionOptions {
  const source = config.tls ?? consulTlsFromEnv() ?? {};
  const tls: ConnectionOptions = {};
  if (source.ca) tls.ca = readPem(source.ca);
  if (source.cert) tls.cert = readPem(source.cert);
  if (source.key) tls.key = readPem(source.key);
  if (config.tls?.servername) tls.servername = config.tls.servername;
  if (config.tls) tls.rejectUnauthorized = config.tls.rejectUnauthorized;
  return tls;
}

function readPem(value: string): string {
  return value.trimStart().startsWith('-----BEGIN') ? value : readFileSync(value, 'utf8');
}
