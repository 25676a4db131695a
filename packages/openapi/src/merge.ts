import type { Route, RouteDescription, Router } from '@lucid/gateway-core';
import type { MergeInput, MergeResult, OpenApiDocument } from 'openapi-merge';
import { isObject, type OpenApiDoc, upgradeTo31 } from './document.js';
import { BEARER_SCHEME, toGatewayPaths } from './gateway-paths.js';
import type { OpenApiConfig } from './schema.js';

export interface ServiceDocument {
  service: string;
  /** The last good document, if one was ever had. */
  doc: OpenApiDoc | undefined;
  /** Why the latest fetch failed (the last good document, if any, is still used). */
  error: string | undefined;
}

export interface MergeResultDoc {
  doc: OpenApiDoc;
  /** Services with no document in the result, and why. */
  missing: Record<string, string>;
}

/**
 * Merges the services' documents into the one the gateway serves (OpenAPI 3.1): each rewritten to
 * the gateway's paths and security first, then combined by `openapi-merge`, which renames clashing
 * components with the service's name as prefix (rewriting their `$ref`s) and keeps operationIds unique.
 * `servers` is filled in when the document is served (it depends on the public origin).
 *
 * @example
 * const { doc, missing } = mergeServices(docs, { routes, router, openapi: config.openapi });
 */
export async function mergeServices(
  services: readonly ServiceDocument[],
  deps: {
    routes: readonly Route[];
    router: Router;
    openapi: OpenApiConfig;
    /** What the plugins' options on a route mean (see `PluginSchema.describeRoute`). */
    describe?(route: Route): readonly RouteDescription[];
  },
): Promise<MergeResultDoc> {
  const missing: Record<string, string> = {};
  const inputs: Array<{ service: string; input: MergeInput[number] }> = [];
  for (const { service, doc, error } of services) {
    if (!doc) {
      missing[service] = error ?? 'not fetched yet';
      continue;
    }
    const routes = deps.routes.filter((r) => r.kind === 'proxy' && r.serviceName === service);
    let rewritten: OpenApiDoc;
    try {
      rewritten = toGatewayPaths(upgradeTo31(doc), service, routes, deps.router, deps.describe).doc;
    } catch {
      missing[service] = 'could not be read as OpenAPI';
      continue;
    }
    const info = isObject(doc.info) ? doc.info : {};
    inputs.push({
      service,
      input: {
        oas: rewritten as unknown as OpenApiDocument,
        dispute: { prefix: `${service}_` },
        // Two services may share a path when routes split it by method.
        duplicatePathHandling: 'merge-operations',
        tag: {
          name: service,
          ...(typeof info.title === 'string' && { description: describe(info.title, info.version) }),
        },
      },
    });
  }
  // Merge all at once; if that fails (a clash the library cannot settle), add them one by one and
  // leave out only the ones that cannot join, so one bad document never hides the others.
  // Loaded on the first merge: a gateway whose services publish no document never holds it.
  // CommonJS: its exports are `default` under Node and in the CLI's bundle alike.
  const lib = inputs.length > 0 ? (await import('openapi-merge')).default : undefined;
  const tryMerge = (list: MergeInput): MergeResult => {
    try {
      return lib!.merge(list);
    } catch (err) {
      // The library reports most problems as results but may throw on shapes it did not expect.
      return { type: 'malformed-document', message: err instanceof Error ? err.message : String(err) };
    }
  };
  let merged = lib ? tryMerge(inputs.map((i) => i.input)) : undefined;
  if (merged && isError(merged)) {
    const kept: MergeInput = [];
    merged = undefined;
    for (const { service, input } of inputs) {
      const attempt = tryMerge([...kept, input]);
      if (isError(attempt)) {
        missing[service] = `could not be merged: ${attempt.message}`;
        continue;
      }
      kept.push(input);
      merged = attempt;
    }
  }
  const base: OpenApiDoc =
    merged && !isError(merged) ? (merged.output as unknown as OpenApiDoc) : { paths: {} };
  return { doc: finish(base, services, missing, deps.openapi), missing };
}

const isError = (r: MergeResult): r is Extract<MergeResult, { type: string }> => 'type' in r;

/** The document served before any has been merged: every wanted service "not fetched yet". */
export function unmerged(services: readonly string[], cfg: OpenApiConfig): MergeResultDoc {
  const missing = Object.fromEntries(services.map((s) => [s, 'not fetched yet']));
  const docs = services.map((service) => ({ service, doc: undefined, error: 'not fetched yet' }));
  return { doc: finish({ paths: {} }, docs, missing, cfg), missing };
}

function describe(title: unknown, version: unknown): string {
  return typeof version === 'string' ? `${title} (${version})` : String(title);
}

/** The gateway's own info, security scheme and version on top of the merged parts. */
function finish(
  merged: OpenApiDoc,
  services: readonly ServiceDocument[],
  missing: Record<string, string>,
  cfg: OpenApiConfig,
): OpenApiDoc {
  const served = services.filter((s) => !Object.hasOwn(missing, s.service)).map((s) => s.service);
  let description = served.length
    ? `The APIs of ${served.join(', ')}, as served through this gateway.`
    : services.length
      ? 'No service document is available yet.'
      : 'No service publishes an OpenAPI document yet (set `services.<name>.openapi` in the config).';
  const down = Object.entries(missing);
  if (down.length > 0) {
    description += `\n\n**Unavailable** (their operations are not listed):\n${down
      .map(([name, why]) => `- ${name}: ${why}`)
      .join('\n')}`;
  }
  const components = isObject(merged.components) ? { ...merged.components } : {};
  components.securitySchemes = {
    [BEARER_SCHEME]: {
      type: 'http',
      scheme: 'bearer',
      bearerFormat: 'JWT',
      description: 'A JWT checked by the gateway; routes may require scopes (listed per operation).',
    },
  };
  const { openapi: _v, info: _i, servers: _s, security: _sec, ...rest } = merged;
  return {
    openapi: '3.1.0',
    info: {
      title: cfg.title,
      version: cfg.version,
      description,
      'x-unavailable-services': Object.keys(missing),
    },
    ...rest,
    paths: isObject(merged.paths) ? merged.paths : {},
    components,
  };
}
