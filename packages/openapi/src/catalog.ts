import type { Logger } from 'pino';
import type { GatewayConfig } from '../config/schema.js';
import type { Router } from '../routing/router.js';
import type { ComponentHealth, Route, TlsOptions } from '../types.js';
import type { UpstreamPool } from '../upstream/pool.js';
import { toYaml } from './document.js';
import { failureReason, fetchOpenApi } from './fetch.js';
import { type MergeResultDoc, mergeServices, type ServiceDocument, unmerged } from './merge.js';

/** What the catalog needs from one built config (the gateway's runtime, or the CLI's own). */
export interface CatalogSources {
  config: GatewayConfig;
  routes: readonly Route[];
  router: Router;
  pools: ReadonlyMap<string, UpstreamPool>;
  /** The TLS a service's traffic uses (a plugin's, e.g. a service mesh's, else the service's files). */
  tls(service: string): TlsOptions | undefined;
}

export interface RenderedDocument {
  json: string;
  /** Rendered on first ask: most clients want JSON. */
  yaml(): Promise<string>;
}

// Origins seen in Host headers are few; a client inventing new ones must not grow this without bound.
const MAX_RENDERED_ORIGINS = 8;
// A service without any document yet is asked again after 1 s, 2 s, 4 s, ... up to `openapi.refresh`.
const FIRST_RETRY_MS = 1_000;

/**
 * The services' OpenAPI documents, kept fresh in the background: fetched at start, every
 * `openapi.refresh`, and when the config is reloaded. A failed fetch keeps the last good document;
 * the merged result is rebuilt once per change, never per request.
 *
 * @example
 * const catalog = new OpenApiCatalog(logger);
 * await catalog.use(sources);                 // at start and on every reload
 * catalog.render('https://api.example.com').json
 */
export class OpenApiCatalog {
  readonly #docs = new Map<string, ServiceDocument>();
  #sources: CatalogSources | undefined;
  #merged: MergeResultDoc | undefined;
  /** Counts merges, so a slow one that finishes after a newer one is dropped. */
  #generation = 0;
  #rendered = new Map<string, RenderedDocument>();
  #timer: NodeJS.Timeout | undefined;
  /** A sooner fetch while a service has no document yet (its targets may still be on their way). */
  #retry: NodeJS.Timeout | undefined;
  #retryMs = FIRST_RETRY_MS;
  #abort = new AbortController();
  #refreshing: Promise<void> | undefined;

  constructor(private readonly logger: Logger) {}

  /**
   * Takes a (new) config's routes and pools: merges at once with the documents at hand (so routes
   * that changed show without waiting), then fetches every document again.
   */
  async use(sources: CatalogSources): Promise<void> {
    this.#sources = sources;
    const wanted = this.#wanted(sources);
    for (const name of this.#docs.keys()) if (!wanted.includes(name)) this.#docs.delete(name);
    if (wanted.length === 0) {
      // Nothing to fetch (no service publishes a document, or nothing serves it).
      this.stop();
      await this.#remerge();
      return;
    }
    this.#schedule(sources.config.openapi.refresh);
    await this.#remerge();
    // A fetch already running read the previous config: fetch again once it is done.
    const running = this.#refreshing;
    if (running) await running.then(() => this.refresh());
    else await this.refresh();
  }

  /** Fetches every service's document now (a refresh already running is joined, not doubled). */
  refresh(): Promise<void> {
    this.#refreshing ??= this.#fetchAll().finally(() => {
      this.#refreshing = undefined;
    });
    return this.#refreshing;
  }

  stop(): void {
    clearInterval(this.#timer);
    this.#timer = undefined;
    clearTimeout(this.#retry);
    this.#retry = undefined;
    this.#retryMs = FIRST_RETRY_MS;
    this.#abort.abort();
    this.#abort = new AbortController();
  }

  /** The merged document with `servers` set to `origin` (the configured public URL wins). */
  render(origin: string | undefined): RenderedDocument {
    const publicUrl = this.#sources?.config.openapi.publicUrl;
    const server = (publicUrl ?? origin ?? '/').replace(/\/+$/, '') || '/';
    let out = this.#rendered.get(server);
    if (out) return out;
    const doc = { ...this.#current().doc, servers: [{ url: server }] };
    let yaml: Promise<string> | undefined;
    out = {
      json: JSON.stringify(doc),
      yaml: () => {
        yaml ??= toYaml(doc);
        return yaml;
      },
    };
    if (this.#rendered.size >= MAX_RENDERED_ORIGINS) this.#rendered.clear();
    this.#rendered.set(server, out);
    return out;
  }

  /** For /health: which services' documents are missing, and why (in words safe to show). */
  health(): ComponentHealth | undefined {
    const wanted = this.#sources ? this.#wanted(this.#sources) : [];
    if (wanted.length === 0) return undefined;
    const missing = this.#current().missing;
    const stale: Record<string, string> = {};
    for (const d of this.#docs.values()) if (d.doc && d.error) stale[d.service] = d.error;
    const unavailable = Object.keys(missing).length;
    return {
      healthy: unavailable === 0,
      detail: {
        services: wanted.length - unavailable,
        ...(unavailable > 0 && { unavailable: missing }),
        ...(Object.keys(stale).length > 0 && { stale }),
      },
    };
  }

  /** The last merge, or (before the first one) the document that says the services are being fetched. */
  #current(): MergeResultDoc {
    if (this.#merged) return this.#merged;
    const sources = this.#sources;
    return sources
      ? unmerged(this.#wanted(sources), sources.config.openapi)
      : unmerged([], { title: 'API', version: '0', refresh: 0, timeout: 0, maxSize: 0 });
  }

  #wanted(sources: CatalogSources): string[] {
    const { builtins } = sources.config;
    if (builtins.openapi === false && builtins.docs === false) return [];
    return Object.entries(sources.config.services)
      .filter(([, s]) => s.openapi !== undefined)
      .map(([name]) => name);
  }

  #schedule(every: number): void {
    clearInterval(this.#timer);
    this.#timer = setInterval(() => void this.refresh(), every);
    this.#timer.unref();
  }

  async #fetchAll(): Promise<void> {
    const sources = this.#sources;
    if (!sources) return;
    const { config } = sources;
    const signal = this.#abort.signal;
    await Promise.all(
      this.#wanted(sources).map(async (service) => {
        const source = config.services[service]!.openapi!;
        try {
          const doc = await fetchOpenApi(
            { source, pool: sources.pools.get(service), tls: sources.tls(service) },
            { timeout: config.openapi.timeout, maxSize: config.openapi.maxSize },
            signal,
          );
          this.#docs.set(service, { service, doc, error: undefined });
        } catch (err) {
          const error = failureReason(err);
          const previous = this.#docs.get(service)?.doc;
          this.#docs.set(service, { service, doc: previous, error });
          if (!signal.aborted)
            this.logger.warn(
              { service, reason: error, err },
              previous
                ? 'OpenAPI document not fetched; keeping the last good one'
                : 'OpenAPI document not fetched',
            );
        }
      }),
    );
    if (signal.aborted) return;
    await this.#remerge();
    this.#retrySoon(sources);
  }

  #retrySoon(sources: CatalogSources): void {
    const missing = this.#wanted(sources).some((name) => !this.#docs.get(name)?.doc);
    clearTimeout(this.#retry);
    this.#retry = undefined;
    // Once the back-off reaches the refresh interval, the interval alone asks again.
    if (!missing || this.#timer === undefined || this.#retryMs >= sources.config.openapi.refresh) {
      this.#retryMs = FIRST_RETRY_MS;
      return;
    }
    const wait = this.#retryMs;
    this.#retryMs *= 2;
    this.#retry = setTimeout(() => void this.refresh(), wait);
    this.#retry.unref();
  }

  /** Never rejects: it runs from timers and unawaited calls, where a rejection would end the process. */
  async #remerge(): Promise<void> {
    const generation = ++this.#generation;
    let merged: MergeResultDoc;
    try {
      merged = await this.#merge();
    } catch (err) {
      this.logger.error({ err }, 'OpenAPI merge failed; serving the previous document');
      return;
    }
    if (generation !== this.#generation) return;
    this.#merged = merged;
    this.#rendered = new Map();
  }

  async #merge(): Promise<MergeResultDoc> {
    const sources = this.#sources!;
    const docs = this.#wanted(sources).map(
      (service) => this.#docs.get(service) ?? { service, doc: undefined, error: 'not fetched yet' },
    );
    const deps = { routes: sources.routes, router: sources.router, openapi: sources.config.openapi };
    try {
      return await mergeServices(docs, deps);
    } catch (err) {
      // A document shaped in a way the merge did not expect: list every service as unavailable.
      this.logger.error({ err }, 'OpenAPI merge failed');
      return await mergeServices(
        docs.map((d) => ({ ...d, doc: undefined, error: 'could not be merged' })),
        deps,
      );
    }
  }
}
