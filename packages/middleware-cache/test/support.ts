import type { IncomingMessage, OutgoingHttpHeaders, ServerResponse } from 'node:http';
import type { GatewayPlugin } from '@lucid/gateway-core';
import {
  type RunningGateway,
  type SeenRequest,
  startGateway,
  startUpstream,
  type Upstream,
} from '@lucid/test-kit';
import { type CacheConfigInput, type ResponseCachePlugin, responseCache } from '../src/index.js';

export interface Answer {
  status?: number;
  headers?: OutgoingHttpHeaders;
  body?: string | Buffer;
}

/** Paths the test upstream answers, each with a function of the request (and how many times it was asked). */
export type Script = Record<
  string,
  (req: IncomingMessage, n: number, res: ServerResponse) => Answer | undefined
>;

/** A loopback upstream that answers by `script` (by path without query), counting requests per path. */
export async function scriptedUpstream(script: Script): Promise<Upstream & { hits(path: string): number }> {
  const counts = new Map<string, number>();
  const up = await startUpstream((req: IncomingMessage, res: ServerResponse, _seen: SeenRequest) => {
    const path = (req.url ?? '/').split('?')[0]!;
    const n = (counts.get(path) ?? 0) + 1;
    counts.set(path, n);
    const fn = script[path];
    const answer = fn ? fn(req, n, res) : { status: 404, body: 'none' };
    if (answer === undefined) return; // the script wrote (or cut) the response itself
    const body = answer.body ?? '';
    res.writeHead(answer.status ?? 200, { 'content-length': Buffer.byteLength(body), ...answer.headers });
    res.end(req.method === 'HEAD' ? undefined : body);
  });
  return Object.assign(up, { hits: (path: string) => counts.get(path) ?? 0 });
}

export interface CachedGateway extends RunningGateway {
  cache: ResponseCachePlugin;
}

/** A gateway with the cache plugin in front of `upstream`, routes under `/api` cached by `cache`. */
export async function cachedGateway(
  upstream: Upstream,
  opts: {
    cache?: CacheConfigInput;
    route?: unknown;
    routes?: unknown[];
    plugins?: GatewayPlugin[];
    server?: Record<string, unknown>;
    extra?: Record<string, unknown>;
  } = {},
): Promise<CachedGateway> {
  const cache = responseCache(opts.cache ?? {});
  const gw = await startGateway(
    {
      ...(opts.server && { server: opts.server }),
      services: { api: { targets: [upstream.url], retry: { attempts: 0 } } },
      routes: opts.routes ?? [{ prefix: '/api', service: 'api', auth: 'public', cache: opts.route ?? true }],
      cache: opts.cache ?? {},
      ...opts.extra,
    },
    [...(opts.plugins ?? []), cache],
  );
  return Object.assign(gw, { cache });
}
