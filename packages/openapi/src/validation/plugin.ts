import {
  type ComponentHealth,
  type ConfigIssue,
  type ConfigView,
  type DashboardColumn,
  type GatewayPlugin,
  PLUGIN_ORDER,
  type PluginSchema,
  type PluginSetup,
  type Route,
} from '@lucid/gateway-core';
import { VALIDATION_ERRORS, validateRoute } from './middleware.js';
import { ResponseReport } from './response-report.js';
import { type ValidateSettings, validateOption, validateSettings } from './route-option.js';
import { ServiceValidators } from './service-validators.js';

/** A service's current OpenAPI document as fetched (undefined until one arrives), or why there is none. */
export interface FetchedDocument {
  doc: unknown;
  error?: string | undefined;
}

/**
 * Where the validation reads the services' documents: the catalog that fetches them. `watch` calls
 * back after every fetch round (and once at once), with every service's document.
 */
export interface DocumentFeed {
  watch(onDocuments: (docs: ReadonlyMap<string, FetchedDocument>) => void): () => void;
}

/** The config request validation brings: the route option `validate`, its error codes and checks. */
export const validationPluginSchema: PluginSchema = {
  name: 'validation',
  route: { validate: validateOption },
  errors: VALIDATION_ERRORS,
  check: checkValidatedRoutes,
};

/** The route option as written on a route (typed `unknown` in core's RouteConfig). */
const settingsOf = (route: { validate?: unknown }): ValidateSettings | undefined =>
  validateSettings(route.validate);

/**
 * Request validation at the edge: each route with `validate` checks its requests against its
 * service's own OpenAPI document (`services.<name>.openapi`), compiled once per document, and
 * again only when a refresh brings a changed one. Runs after authentication and rate limits, once
 * the body is buffered.
 *
 * @example
 * const docs = openapi();
 * createGateway(config, { plugins: [jwtAuth(config.auth), docs, requestValidation(() => docs.catalog)] });
 */
export function requestValidation(feed: () => DocumentFeed | undefined): GatewayPlugin {
  const validators = new ServiceValidators();
  let setup: PluginSetup | undefined;
  let report: ResponseReport | undefined;
  let unwatch: (() => void) | undefined;
  const watched = new Set<string>();
  const watch = () => {
    if (unwatch) return;
    const source = feed();
    if (!source) return;
    unwatch = source.watch((docs) => {
      for (const [service, fetched] of docs) {
        watched.add(service);
        validators.update(
          service,
          fetched.doc,
          fetched.error && `its OpenAPI document could not be fetched (${fetched.error})`,
        );
      }
    });
  };
  /** The validated routes of the current config, with their settings. */
  const routes = () =>
    (setup?.config.routes ?? []).flatMap((r) => {
      const s = settingsOf(r as { validate?: unknown });
      return s ? [{ route: r, settings: s }] : [];
    });

  return {
    name: 'validation',
    order: PLUGIN_ORDER.afterBody,
    schema: validationPluginSchema,
    setup(s) {
      setup = s;
      report ??= new ResponseReport(s, s.logger);
      watch();
    },
    middleware(route: Route) {
      if (route.kind !== 'proxy' || !setup) return undefined;
      const settings = settingsOf(route.config as { validate?: unknown });
      if (!settings) return undefined;
      watch();
      return validateRoute({
        routeId: route.id,
        service: route.serviceName,
        settings,
        validators,
        maxBody: setup.config.server.limits.bufferBody,
        report: settings.responses === 'report' ? report : undefined,
      });
    },
    // Only while a route validates: a gateway without any shows no `validation` component.
    async componentHealth(): Promise<Record<string, ComponentHealth>> {
      const validated = routes();
      if (validated.length === 0) return {};
      const detail: Record<string, unknown> = {};
      let healthy = true;
      for (const { route, settings } of validated) {
        const state = validators.get(route.service);
        // Named as core names a route: its name, else host and prefix.
        const id = route.name ?? (route.host ? `${route.host}${route.prefix}` : route.prefix);
        if (state.validator) {
          detail[id] = { service: route.service, checked: true, operations: state.validator.operations };
          if (state.validator.unchecked.length > 0) {
            (detail[id] as Record<string, unknown>).unchecked = state.validator.unchecked.map((u) => u.id);
          }
        } else {
          // Open: requests pass unchecked; closed: they are refused (503). Either way, say so.
          detail[id] = {
            service: route.service,
            checked: false,
            onMissing: settings.onMissing,
            reason: state.reason,
          };
          if (settings.onMissing === 'closed') healthy = false;
        }
      }
      return { validation: { healthy, detail } };
    },
    dashboardRoute(route): Record<string, DashboardColumn> {
      const settings = settingsOf(route.config as { validate?: unknown });
      if (!settings) return {};
      const state = validators.get(route.serviceName);
      const what = [settings.requests && 'requests', settings.responses === 'report' && 'answers reported']
        .filter(Boolean)
        .join(', ');
      return {
        validate: {
          label: 'validate',
          value: state.validator
            ? what
            : `unchecked: ${settings.onMissing === 'open' ? 'passing' : 'refusing'} (${state.reason})`,
        },
      };
    },
    async stop() {
      unwatch?.();
      unwatch = undefined;
    },
  };
}

/** Routes that ask for validation their service cannot give. */
function checkValidatedRoutes(view: ConfigView): ConfigIssue[] {
  const issues: ConfigIssue[] = [];
  const { config } = view;
  for (const route of config.routes) {
    const settings = settingsOf(route as { validate?: unknown });
    if (!settings) continue;
    const at = `${view.routePath(route)}.validate`;
    const service = config.services[route.service];
    if (service === undefined) continue;
    if (service.openapi === undefined) {
      issues.push({
        path: at,
        message: `service "${route.service}" has no openapi document to validate against`,
        fix: `set services.${route.service}.openapi (a path on the service, or { file: ... })`,
        severity: settings.onMissing === 'closed' ? 'error' : 'warning',
      });
    }
    if (!settings.requests) continue;
    const buffering = route.requestBuffering ?? service.requestBuffering;
    if (!buffering || config.server.limits.bufferBody === 0) {
      issues.push({
        path: at,
        message: 'request bodies are checked once buffered, and this route does not buffer them',
        fix: 'leave requestBuffering on (and server.limits.bufferBody above 0) for validated routes',
      });
    }
  }
  return issues;
}
