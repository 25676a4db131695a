import type { OutgoingHttpHeaders } from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  addGatewayResponseHeaders,
  captureResponse,
  type Middleware,
  type Next,
  type ProxyRoute,
  type ReplacementAnswer,
  type RoutedContext,
  withDetachedResponse,
} from '@lucid/gateway-core';
import CachePolicy from 'http-cache-semantics';
import type { RouteCacheOptions } from '../config/schema.js';
import {
  type ClientConditions,
  conditionsOf,
  notModified,
  notModifiedHeaders,
  takeConditions,
} from '../http/conditional.js';
import { fieldOf, headerValues, MAX_FIELD, varyNames } from '../http/key.js';
import {
  type Directives,
  directives,
  keptView,
  POLICY_OPTIONS,
  requestView,
  staleIfErrorAllowed,
  storedHeaders,
  withRouteDefaults,
} from '../http/policy.js';
import type { StoredAnswer } from '../store/record.js';
import type { CacheStore } from '../store/types.js';

export type CacheResult = 'hit' | 'miss' | 'stale' | 'bypass' | 'revalidated';

/** What every route's cache shares: one store, one table of fetches in flight, one way to report a store failure. */
export interface CacheDeps {
  store: CacheStore;
  maxEntry: number;
  lockTimeout: number;
  /** Fetches in flight in this process, by key: later misses for the key wait for the first. */
  inflight: Map<string, Promise<void>>;
  count(route: string, result: CacheResult): void;
  storeFailed(err: unknown): void;
}

/** `promise`, or nothing after `ms`: a waiter's bound, its timer cleared as soon as the promise settles. */
function within(promise: Promise<void>, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    promise,
    new Promise<void>((resolve) => {
      timer = setTimeout(resolve, ms);
    }),
  ]).finally(() => clearTimeout(timer));
}

/** No freshness but a validator: kept this long so each use can be revalidated with a 304. */
const VALIDATOR_ONLY_TTL = 60_000;

interface Lookup {
  /** The field without the upstream's Vary values. */
  base: string;
  /** Where the answer is (or would be) stored: `base`, or `base` plus the Vary values. */
  field: string;
  record: StoredAnswer | undefined;
  /** An index of variants was found, but not this request's. */
  varyMiss: boolean;
}

/** Accepts a few bytes more than declared never: a body whose length differs from Content-Length is not stored. */
function complete(declared: string | undefined, bytes: number): boolean {
  return declared === undefined || Number(declared) === bytes;
}

/**
 * The response cache of one route: a hit is answered here; a miss goes through the rest of the
 * chain to the upstream once per key (later misses wait for it), and its answer is kept while it
 * streams to the client. Runs after authentication and the rate limit (its order is the last).
 */
export function routeCache(route: ProxyRoute, opts: RouteCacheOptions, deps: CacheDeps): Middleware {
  const { store, maxEntry, lockTimeout, inflight } = deps;
  const routeId = route.id;
  const waitMs = route.config.timeout ?? route.service.timeout;
  const count = (result: CacheResult) => deps.count(routeId, result);

  async function lookup(ctx: RoutedContext, base: string): Promise<Lookup> {
    const found = await store.get(ctx.path, base);
    if (found === undefined) return { base, field: base, record: undefined, varyMiss: false };
    if (found.kind === 'answer') return { base, field: base, record: found, varyMiss: false };
    const field = base + headerValues(ctx, found.names);
    const variant = await store.get(ctx.path, field);
    const record = variant?.kind === 'answer' ? variant : undefined;
    return { base, field, record, varyMiss: record === undefined };
  }

  function answerHeaders(ctx: RoutedContext, rec: StoredAnswer, cacheStatus: string): OutgoingHttpHeaders {
    const h = rec.policy.responseHeaders() as OutgoingHttpHeaders;
    if (rec.cacheControl === undefined) delete h['cache-control'];
    else h['cache-control'] = rec.cacheControl;
    h['cache-status'] = cacheStatus;
    addGatewayResponseHeaders(ctx, h);
    return h;
  }

  function answerFor(
    ctx: RoutedContext,
    rec: StoredAnswer,
    cond: ClientConditions | undefined,
    cacheStatus: string,
  ): ReplacementAnswer {
    const h = answerHeaders(ctx, rec, cacheStatus);
    if (cond !== undefined && rec.status === 200 && notModified(cond, h)) {
      const out: OutgoingHttpHeaders = notModifiedHeaders(h as Record<string, unknown>);
      out['x-request-id'] = ctx.requestId;
      for (const name in ctx.responseHeaders) if (h[name] !== undefined) out[name] = h[name];
      return { status: 304, headers: out };
    }
    if (ctx.req.method === 'HEAD') return { status: rec.status, headers: h };
    h['content-length'] = rec.body.length;
    return { status: rec.status, headers: h, body: rec.body };
  }

  function serve(ctx: RoutedContext, rec: StoredAnswer, result: CacheResult, cacheStatus: string): void {
    count(result);
    const answer = answerFor(ctx, rec, conditionsOf(ctx.req.headers), cacheStatus);
    ctx.res.writeHead(answer.status, answer.headers);
    ctx.res.end(answer.body);
    ctx.bytesSent = answer.body?.length ?? 0;
  }

  function freshHit(rec: StoredAnswer | undefined, view: CachePolicy.Request): rec is StoredAnswer {
    if (rec === undefined) return false;
    const ev = rec.policy.evaluateRequest(view);
    return ev.response !== undefined && ev.revalidation === undefined;
  }

  const ttlOf = (rec: StoredAnswer) => Math.max(0, Math.round(rec.policy.maxAge() - rec.policy.age()));

  /** Whether (and how) an upstream answer may be kept: its policy, or undefined. */
  function storable(
    ctx: RoutedContext,
    status: number,
    raw: OutgoingHttpHeaders,
    stored: Record<string, string>,
    cc: Directives,
    view: CachePolicy.Request,
  ): CachePolicy | undefined {
    if (raw['set-cookie'] !== undefined) return undefined;
    const vary = varyNames(stored.vary);
    if (vary[0] === '*') return undefined;
    // RFC 9111 §3.5: an answer to a request with credentials only when the upstream allows sharing it.
    if (
      view.headers.authorization !== undefined &&
      !cc.has('public') &&
      !cc.has('s-maxage') &&
      !cc.has('must-revalidate')
    )
      return undefined;
    const policy = new CachePolicy(
      keptView(view, vary),
      { status, headers: withRouteDefaults(status, stored, cc, opts) },
      POLICY_OPTIONS,
    );
    if (!policy.storable()) return undefined;
    void ctx;
    return policy;
  }

  async function save(ctx: RoutedContext, found: Lookup, rec: StoredAnswer): Promise<void> {
    let ttl = rec.policy.timeToLive();
    const h = rec.policy.responseHeaders();
    if (ttl <= 0 && (h.etag !== undefined || h['last-modified'] !== undefined)) ttl = VALIDATOR_ONLY_TTL;
    if (ttl <= 0) return;
    try {
      const names = varyNames(h.vary);
      if (names.length === 0) {
        await store.set(ctx.path, found.base, rec, ttl);
      } else {
        await store.set(ctx.path, found.base, { kind: 'vary', names }, ttl);
        await store.set(ctx.path, found.base + headerValues(ctx, names), rec, ttl);
      }
    } catch (err) {
      deps.storeFailed(err);
    }
  }

  /** Forwards once, passing the answer to the client while keeping it (or answering from `stale` on a 304 or an error). */
  async function fetchAndStore(
    ctx: RoutedContext,
    next: Next,
    found: Lookup,
    view: CachePolicy.Request,
    stale: StoredAnswer | undefined,
    background: boolean,
  ): Promise<void> {
    const cond = background ? undefined : takeConditions(ctx.req.headers);
    if (stale !== undefined) {
      const v = stale.policy.revalidationHeaders(view);
      const etag = v['if-none-match'] as string | undefined;
      const since = v['if-modified-since'] as string | undefined;
      if (etag !== undefined) ctx.upstreamHeaders['if-none-match'] = etag;
      if (since !== undefined) ctx.upstreamHeaders['if-modified-since'] = since;
    }
    const staleCc = directives(stale?.cacheControl);
    const perRequest = ctx.responseHeaders;
    let result: CacheResult = 'miss';
    let keep: { policy: CachePolicy; status: number; stored: Record<string, string> } | undefined;
    let refreshed: StoredAnswer | undefined;
    let replaced: ReplacementAnswer | undefined;
    let chunks: Buffer[] = [];
    let bytes = 0;
    let ended = false;

    const release = captureResponse(ctx.res, {
      head(status, headers) {
        const stored = storedHeaders(headers, perRequest);
        if (stale !== undefined && status === 304) {
          const revalidated = stale.policy.revalidatedPolicy(
            keptView(view, varyNames(stale.policy.responseHeaders().vary)),
            {
              status: 304,
              headers: stored,
            },
          );
          if (!revalidated.modified) {
            result = 'revalidated';
            refreshed = { ...stale, policy: revalidated.policy };
            replaced = answerFor(ctx, refreshed, cond, 'lucid; fwd=stale; fwd-status=304');
            return replaced;
          }
        }
        if (stale !== undefined && status >= 500 && staleIfErrorAllowed(stale.policy, staleCc)) {
          result = 'stale';
          replaced = answerFor(
            ctx,
            stale,
            cond,
            `lucid; fwd=stale; fwd-status=${status}; detail=stale-if-error`,
          );
          return replaced;
        }
        let cacheStatus = `lucid; fwd=${stale ? 'stale' : found.varyMiss ? 'vary-miss' : 'uri-miss'}; fwd-status=${status}`;
        const cc = directives(stored['cache-control']);
        const policy = storable(ctx, status, headers, stored, cc, view);
        if (policy !== undefined) {
          if (Number(stored['content-length']) > maxEntry) cacheStatus += '; detail=too-large';
          else keep = { policy, status, stored };
        }
        if (keep) cacheStatus += '; stored';
        ctx.res.setHeader('cache-status', cacheStatus);
        if (cond !== undefined && status === 200 && notModified(cond, headers as Record<string, unknown>)) {
          const out: OutgoingHttpHeaders = notModifiedHeaders({ ...headers, 'cache-status': cacheStatus });
          out['x-request-id'] = ctx.requestId;
          replaced = { status: 304, headers: out };
          return replaced;
        }
        return undefined;
      },
      data(chunk) {
        if (keep === undefined) return;
        bytes += chunk.length;
        if (bytes > maxEntry) {
          // Too large after all (no Content-Length said so): let go of what was kept; the rest streams through.
          keep = undefined;
          chunks = [];
          return;
        }
        chunks.push(chunk);
      },
      end() {
        ended = true;
      },
    });
    try {
      await next();
    } catch (err) {
      release();
      if (
        stale !== undefined &&
        !background &&
        !ctx.res.headersSent &&
        !ctx.res.destroyed &&
        staleIfErrorAllowed(stale.policy, staleCc)
      ) {
        serve(ctx, stale, 'stale', 'lucid; fwd=stale; detail=stale-if-error');
        return;
      }
      throw err;
    } finally {
      release();
    }
    if (!background) {
      count(result);
      if (replaced !== undefined) ctx.bytesSent = replaced.body?.length ?? 0;
    }
    if (refreshed !== undefined) {
      await save(ctx, found, refreshed);
    } else if (keep !== undefined && ended && complete(keep.stored['content-length'], bytes)) {
      const body = chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks);
      await save(ctx, found, {
        kind: 'answer',
        policy: keep.policy,
        status: keep.status,
        body,
        cacheControl: keep.stored['cache-control'],
      });
    }
  }

  /** Another instance holds the key's lock: waits for its answer in the store, or for the lock to be free. */
  async function waitForOther(
    ctx: RoutedContext,
    base: string,
    view: CachePolicy.Request,
    id: string,
  ): Promise<{ record?: StoredAnswer; locked: boolean }> {
    const until = Date.now() + Math.min(waitMs, lockTimeout);
    for (let pause = 10; Date.now() < until; pause = Math.min(pause * 2, 100)) {
      await sleep(pause);
      const again = await lookup(ctx, base);
      if (freshHit(again.record, view)) return { record: again.record, locked: false };
      if (await store.lock!(id, lockTimeout)) return { locked: true };
    }
    return { locked: false };
  }

  /** One fetch per key: the first miss fetches; the others wait for it and are answered from what it kept. */
  async function coalesced(
    ctx: RoutedContext,
    next: Next,
    found: Lookup,
    view: CachePolicy.Request,
    stale: StoredAnswer | undefined,
  ): Promise<void> {
    const id = `${ctx.path}\0${found.field}`;
    const pending = inflight.get(id);
    if (pending !== undefined) {
      await within(pending, waitMs);
      try {
        const again = await lookup(ctx, found.base);
        if (freshHit(again.record, view)) {
          serve(ctx, again.record, 'hit', `lucid; hit; ttl=${ttlOf(again.record)}; detail=collapsed`);
          return;
        }
        return await fetchAndStore(ctx, next, again, view, again.record ?? stale, false);
      } catch (err) {
        if (ctx.res.headersSent) throw err;
        deps.storeFailed(err);
      }
      return fetchAndStore(ctx, next, found, view, stale, false);
    }
    let done!: () => void;
    inflight.set(
      id,
      new Promise<void>((resolve) => {
        done = resolve;
      }),
    );
    let locked = false;
    try {
      if (store.lock !== undefined) {
        try {
          locked = await store.lock(id, lockTimeout);
          if (!locked) {
            const other = await waitForOther(ctx, found.base, view, id);
            locked = other.locked;
            if (other.record !== undefined) {
              serve(ctx, other.record, 'hit', `lucid; hit; ttl=${ttlOf(other.record)}; detail=collapsed`);
              return;
            }
          }
        } catch (err) {
          deps.storeFailed(err);
        }
      }
      await fetchAndStore(ctx, next, found, view, stale, false);
    } finally {
      inflight.delete(id);
      done();
      if (locked) store.unlock?.(id).catch(() => {});
    }
  }

  /** RFC 5861 stale-while-revalidate: the client has its stale answer; one fetch refreshes the key. */
  async function refresh(
    ctx: RoutedContext,
    next: Next,
    found: Lookup,
    view: CachePolicy.Request,
    stale: StoredAnswer,
  ): Promise<void> {
    const id = `${ctx.path}\0${found.field}`;
    if (inflight.has(id)) return;
    let done!: () => void;
    inflight.set(
      id,
      new Promise<void>((resolve) => {
        done = resolve;
      }),
    );
    let locked = false;
    const bytesSent = ctx.bytesSent;
    try {
      if (store.lock !== undefined) {
        locked = await store.lock(id, lockTimeout);
        if (!locked) return;
      }
      await withDetachedResponse(ctx, () => fetchAndStore(ctx, next, found, view, stale, true));
    } catch (err) {
      // The client was answered; a failed refresh leaves the stale answer until the next try.
      ctx.log.debug({ err, route: routeId }, 'cache refresh failed');
    } finally {
      ctx.bytesSent = bytesSent;
      inflight.delete(id);
      done();
      if (locked) store.unlock?.(id).catch(() => {});
    }
  }

  async function bypass(ctx: RoutedContext, next: Next, detail: string): Promise<void> {
    count('bypass');
    ctx.responseHeaders['cache-status'] = `lucid; fwd=bypass; detail=${detail}`;
    return next();
  }

  return async function responseCache(ctx, next) {
    const method = ctx.req.method;
    if (method !== 'GET' && method !== 'HEAD') {
      await next();
      // RFC 9111 §4.4: a successful unsafe request invalidates what is stored for its URI.
      if (method !== 'OPTIONS' && ctx.res.statusCode < 400) store.purgePath(ctx.path).catch(deps.storeFailed);
      return;
    }
    const headers = ctx.req.headers;
    // A WebSocket handshake is not a GET for a representation: it is never answered from the store.
    if (headers.upgrade !== undefined) return next();
    if (ctx.grpc !== undefined) return bypass(ctx, next, 'grpc');
    if (headers.range !== undefined) return bypass(ctx, next, 'range');
    const identity = ctx.state.identity;
    const sub = opts.perUser ? (identity?.sub ?? '') : undefined;
    const credentialed =
      !opts.perUser &&
      (identity !== undefined || headers.authorization !== undefined || headers.cookie !== undefined);
    const base = fieldOf(ctx, opts.vary, sub);
    if (base.length > MAX_FIELD || ctx.path.length > MAX_FIELD) return bypass(ctx, next, 'key-too-long');
    const view = requestView(ctx, undefined, credentialed);

    let found: Lookup;
    try {
      found = await lookup(ctx, base);
    } catch (err) {
      deps.storeFailed(err);
      return bypass(ctx, next, 'store-unavailable');
    }
    const rec = found.record;
    if (rec !== undefined) {
      const ev = rec.policy.evaluateRequest(view);
      if (ev.response !== undefined && ev.revalidation === undefined) {
        serve(ctx, rec, 'hit', `lucid; hit; ttl=${ttlOf(rec)}`);
        return;
      }
      if (ev.response !== undefined) {
        serve(ctx, rec, 'stale', 'lucid; hit; detail=stale-while-revalidate');
        if (method === 'GET') await refresh(ctx, next, found, view, rec);
        return;
      }
    }
    if (method === 'HEAD') {
      count('miss');
      ctx.responseHeaders['cache-status'] = `lucid; fwd=${rec ? 'stale' : 'uri-miss'}`;
      return next();
    }
    return coalesced(ctx, next, found, view, rec);
  };
}
