import type {
  ComponentHealth,
  GatewayConfig,
  GatewayView,
  Route,
  RouteDescription,
  Router,
  TlsOptions,
  UpstreamPool,
} from '@lucid/gateway-core';
import { toYaml } from './document.js';
import { failureReason, fetchOpenApi } from './fetch.js';
import { type MergeResultDoc, mergeServices, type ServiceDocument, unmerged } from './merge.js';
import { openapiSettings, serviceSource } from './schema.js';
import { validateSettings } from './validation/route-option.js';

type Logger = GatewayView['logger'];

/** What the catalog needs from one built config (the gateway's runtime, or the CLI's own). */
export interface CatalogSources {
  config: GatewayConfig;
  routes: readonly Route[];
  router: Router;
  pools: ReadonlyMap<string, UpstreamPool>;
  /** The TLS a service's traffic uses (a plugin's, e.g. a service mesh's, else the service's files). */
  tls(service: string): TlsOptions | undefined;
  /** What the plugins' options on a route mean to a reader (required claims, ...). */
  describe(route: Route): RouteDescription[];
}

export interface RenderedDocument {
  json: string;
  /** Rendered on first ask: most clients want JSON. */
  yaml(): Promise<string>;
}

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
 * catalog.render().json
 */
export class OpenApiCatalog {
  readonly #docs = new Map<string, ServiceDocument>();
  /** Told every service's document after each fetch round (request validation compiles from them). */
  readonly #watchers = new Set<(docs: ReadonlyMap<string, ServiceDocument>) => void>();
  #sources: CatalogSources | undefined;
  #merged: MergeResultDoc | undefined;
  /** Counts merges, so a slow one that finishes after a newer one is dropped. */
  #generation = 0;
  /** The last rendering, by the `servers` URL it carries (it changes only with `openapi.publicUrl`). */
  #rendered: { server: string; out: RenderedDocument } | undefined;
  #renders = 0;
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
    this.#tell();
    if (wanted.length === 0) {
      // Nothing to fetch (no service publishes a document, or nothing serves it).
      this.stop();
      await this.#remerge();
      return;
    }
    this.#schedule(openapiSettings(sources.config).refresh);
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

  /**
   * The merged document with `servers` set to `openapi.publicUrl`, else `/` (relative to wherever it
   * was read from): the same bytes whatever Host a client sends, rendered once per merge.
   */
  render(): RenderedDocument {
    const publicUrl = this.#sources ? openapiSettings(this.#sources.config).publicUrl : undefined;
    const server = (publicUrl ?? '/').replace(/\/+$/, '') || '/';
    if (this.#rendered?.server === server) return this.#rendered.out;
    this.#renders++;
    const doc = { ...this.#current().doc, servers: [{ url: server }] };
    let yaml: Promise<string> | undefined;
    const out: RenderedDocument = {
      json: JSON.stringify(doc),
      yaml: () => {
        yaml ??= toYaml(doc);
        return yaml;
      },
    };
    this.#rendered = { server, out };
    return out;
  }

  /** How many times the document was rendered (once per merge, not per request or Host). */
  get renders(): number {
    return this.#renders;
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
      ? unmerged(this.#wanted(sources), openapiSettings(sources.config))
      : unmerged([], { title: 'API', version: '0', refresh: 0, timeout: 0, maxSize: 0 });
  }

  /**
   * Calls `onDocuments` with every service's document (the last good one, or why there is none) now
   * and after each fetch round. Returns a function that stops it.
   */
  watch(onDocuments: (docs: ReadonlyMap<string, ServiceDocument>) => void): () => void {
    this.#watchers.add(onDocuments);
    onDocuments(this.#docs);
    return () => this.#watchers.delete(onDocuments);
  }

  #tell(): void {
    for (const watcher of this.#watchers) watcher(this.#docs);
  }

  /** Services whose documents are fetched: all that publish one while the reference is served, else those a validated route needs. */
  #wanted(sources: CatalogSources): string[] {
    const { builtins, routes } = sources.config;
    const served = builtins.openapi || builtins.docs;
    const validated = new Set(
      routes.filter((r) => validateSettings(r.validate) !== undefined).map((r) => r.service),
    );
    return Object.entries(sources.config.services)
      .filter(([name, s]) => serviceSource(s) !== undefined && (served || validated.has(name)))
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
    const settings = openapiSettings(config);
    const signal = this.#abort.signal;
    await Promise.all(
      this.#wanted(sources).map(async (service) => {
        const source = serviceSource(config.services[service]!)!;
        try {
          const doc = await fetchOpenApi(
            { source, pool: sources.pools.get(service), tls: sources.tls(service) },
            { timeout: settings.timeout, maxSize: settings.maxSize },
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
    this.#tell();
    await this.#remerge();
    this.#retrySoon(sources);
  }

  #retrySoon(sources: CatalogSources): void {
    const missing = this.#wanted(sources).some((name) => !this.#docs.get(name)?.doc);
    clearTimeout(this.#retry);
    this.#retry = undefined;
    // Once the back-off reaches the refresh interval, the interval alone asks again.
    if (!missing || this.#timer === undefined || this.#retryMs >= openapiSettings(sources.config).refresh) {
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
    this.#rendered = undefined;
  }

  async #merge(): Promise<MergeResultDoc> {
    const sources = this.#sources!;
    const docs = this.#wanted(sources).map(
      (service) => this.#docs.get(service) ?? { service, doc: undefined, error: 'not fetched yet' },
    );
    const deps = {
      routes: sources.routes,
      router: sources.router,
      openapi: openapiSettings(sources.config),
      describe: (route: Route) => sources.describe(route),
    };
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
