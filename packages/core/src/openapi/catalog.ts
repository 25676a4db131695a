import type { Logger } from 'pino';
import { stringify as toYaml } from 'yaml';
import type { GatewayConfig } from '../config/schema.js';
import type { Router } from '../routing/router.js';
import type { ComponentHealth, Route, TlsOptions } from '../types.js';
import type { UpstreamPool } from '../upstream/pool.js';
import type { OpenApiDoc } from './document.js';
import { failureReason, fetchOpenApi } from './fetch.js';
import { mergeServices, type ServiceDocument } from './merge.js';

/** What the catalog needs from one built config (the gateway's runtime, or the CLI's own). */
export interface CatalogSources {
  config: GatewayConfig;
  routes: readonly Route[];
  router: Router;
  pools: ReadonlyMap<string, UpstreamPool>;
  /** The TLS a service's traffic uses (a plugin's, e.g. Consul Connect, else the service's files). */
  tls(service: string): TlsOptions | undefined;
}

export interface RenderedDocument {
  json: string;
  yaml(): string;
}

// Origins seen in Host headers are few; a client inventing new ones must not grow this without bound.
const MAX_RENDERED_ORIGINS = 8;

/**
 * The services' OpenAPI documents, kept fresh in the background: fetched at start, every
 * `openapi.refresh`, and when the config is reloaded. A failed fetch keeps the last good document;
 * the merged result is rebuilt once per change, never per request.
 *
 * @example
 * const catalog = new OpenApiCatalog(logger);
 * catalog.use(sources);                       // at start and on every reload
 * catalog.render('https://api.example.com').json
 */
export class OpenApiCatalog {
  readonly #docs = new Map<string, ServiceDocument>();
  #sources: CatalogSources | undefined;
  #merged: { doc: OpenApiDoc; missing: Record<string, string> } | undefined;
  #rendered = new Map<string, RenderedDocument>();
  #timer: NodeJS.Timeout | undefined;
  #abort = new AbortController();
  #refreshing: Promise<void> | undefined;
  readonly #listeners = new Set<() => void>();

  constructor(private readonly logger: Logger) {}

  /** Takes a (new) config's routes and pools, and fetches every document again. */
  use(sources: CatalogSources): Promise<void> {
    this.#sources = sources;
    const { builtins } = sources.config;
    if (builtins.openapi === false && builtins.docs === false) {
      // Nothing serves the document: fetch nothing, keep nothing.
      this.stop();
      this.#docs.clear();
      this.#rebuild();
      return Promise.resolve();
    }
    for (const name of this.#docs.keys()) if (!this.#wanted(sources).includes(name)) this.#docs.delete(name);
    this.#rebuild();
    this.#schedule(sources.config.openapi.refresh);
    return this.refresh();
  }

  /** Fetches every service's document now (a refresh already running is joined, not doubled). */
  refresh(): Promise<void> {
    this.#refreshing ??= this.#fetchAll().finally(() => {
      this.#refreshing = undefined;
    });
    return this.#refreshing;
  }

  /** Calls `listener` after each rebuild of the merged document; returns a function that stops it. */
  onUpdate(listener: () => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  stop(): void {
    clearInterval(this.#timer);
    this.#timer = undefined;
    this.#abort.abort();
    this.#abort = new AbortController();
  }

  /** The merged document with `servers` set to `origin` (the configured public URL wins). */
  render(origin: string | undefined): RenderedDocument {
    const publicUrl = this.#sources?.config.openapi.publicUrl;
    const server = (publicUrl ?? origin ?? '/').replace(/\/+$/, '') || '/';
    let out = this.#rendered.get(server);
    if (out) return out;
    const doc = { ...this.document(), servers: [{ url: server }] };
    const json = JSON.stringify(doc);
    let yaml: string | undefined;
    out = { json, yaml: () => (yaml ??= toYaml(doc, { aliasDuplicateObjects: false })) };
    if (this.#rendered.size >= MAX_RENDERED_ORIGINS) this.#rendered.clear();
    this.#rendered.set(server, out);
    return out;
  }

  /** The merged document (without `servers`). */
  document(): OpenApiDoc {
    return this.#current().doc;
  }

  /** For /health: which services' documents are missing, and why (in words safe to show). */
  health(): ComponentHealth | undefined {
    if (!this.#sources || this.#wanted(this.#sources).length === 0) return undefined;
    const missing = this.#current().missing;
    const stale: Record<string, string> = {};
    for (const d of this.#docs.values()) if (d.doc && d.error) stale[d.service] = d.error;
    const unavailable = Object.keys(missing).length;
    return {
      healthy: unavailable === 0,
      detail: {
        services: this.#wanted(this.#sources).length - unavailable,
        ...(unavailable > 0 && { unavailable: missing }),
        ...(Object.keys(stale).length > 0 && { stale }),
      },
    };
  }

  /** The merged result, built on first use after a change. */
  #current(): { doc: OpenApiDoc; missing: Record<string, string> } {
    this.#merged ??= this.#merge();
    return this.#merged;
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
              'OpenAPI document not fetched; keeping the last good one',
            );
        }
      }),
    );
    if (sources === this.#sources && !signal.aborted) this.#rebuild();
  }

  #rebuild(): void {
    this.#merged = undefined;
    this.#rendered = new Map();
    for (const listener of this.#listeners) listener();
  }

  #merge(): { doc: OpenApiDoc; missing: Record<string, string> } {
    const sources = this.#sources;
    if (!sources)
      return { doc: { openapi: '3.1.0', info: { title: 'API', version: '0' }, paths: {} }, missing: {} };
    const docs = this.#wanted(sources).map(
      (service) => this.#docs.get(service) ?? { service, doc: undefined, error: 'not fetched yet' },
    );
    const deps = { routes: sources.routes, router: sources.router, openapi: sources.config.openapi };
    try {
      return mergeServices(docs, deps);
    } catch (err) {
      // A document shaped in a way the merge did not expect: list every service as unavailable.
      this.logger.error({ err }, 'OpenAPI merge failed');
      return mergeServices(
        docs.map((d) => ({ ...d, doc: undefined, error: 'could not be merged' })),
        deps,
      );
    }
  }
}
