import { GatewayError } from '../errors.js';
import { sendJson } from '../http/send-json.js';
import type { ComponentHealth, GatewayContext, GatewayHealth, RoutedContext } from '../types.js';

export interface HealthDeps {
  name: string;
  version: string;
  /** Each service's state from its pool's cached background checks (never a live call). */
  services(): GatewayHealth['services'];
  /** Plugins' and discovery's own health (their stores, registries, key sets, ...). */
  components(): Promise<Record<string, ComponentHealth>>;
  /** False while starting or draining. */
  ready(): boolean;
  /** While not ready: what it waits on (`health-checks`, a plugin's name, `draining`). */
  waiting?(): string[];
  /**
   * Answer `/` with the status alone (and the gateway's name and version): the public port's report
   * once an admin listener serves the detailed one, whose services and components may name internals.
   */
  summary?: boolean;
}

function answer(ctx: GatewayContext, status: number, value: unknown): void {
  sendJson(ctx.res, status, value, {
    requestId: ctx.requestId,
    method: ctx.req.method,
    headers: ctx.responseHeaders,
  });
}

/**
 * healthy: every service checked and up (and every component); unhealthy: no service up and at least
 * one checked down; degraded: anything between, including a service not yet (or never) checked.
 */
export function overallStatus(
  services: GatewayHealth['services'],
  components: Record<string, ComponentHealth>,
): GatewayHealth['status'] {
  let total = 0;
  let up = 0;
  let down = 0;
  for (const name in services) {
    total++;
    if (services[name] === true) up++;
    else if (services[name] === false) down++;
  }
  if (up === 0 && down > 0) return 'unhealthy';
  if (up < total) return 'degraded';
  for (const name in components) if (!components[name]?.healthy) return 'degraded';
  return 'healthy';
}

/**
 * The health built-in, mounted at the configured path (`/health` by default):
 * `/` the full report (200 healthy or degraded, 503 unhealthy), `/live` process up,
 * `/ready` 200 or 503 while starting or draining. It reads cached states only, so a
 * probe storm never turns into upstream traffic.
 *
 * @example
 * healthHandler({ name: 'lucid-api-gateway', version, services, components, ready: () => gateway.ready })
 * // GET /health -> { "status": "degraded", "service": "lucid-api-gateway", "version": "0.1.0",
 * //                  "services": { "auth": true, "sessions": false } }
 */
export function healthHandler(deps: HealthDeps): (ctx: RoutedContext) => Promise<void> {
  return async function health(ctx: RoutedContext): Promise<void> {
    switch (ctx.route.upstreamPath) {
      case '/':
      case '': {
        const services = deps.services();
        const components = await deps.components();
        const status = overallStatus(services, components);
        const code = status === 'unhealthy' ? 503 : 200;
        if (deps.summary) {
          answer(ctx, code, { status, service: deps.name, version: deps.version });
          return;
        }
        const report: GatewayHealth = { status, service: deps.name, version: deps.version, services };
        if (Object.keys(components).length > 0) report.components = components;
        answer(ctx, code, report);
        return;
      }
      case '/live':
        answer(ctx, 200, { status: 'up' });
        return;
      case '/ready': {
        if (deps.ready()) answer(ctx, 200, { status: 'ready' });
        else answer(ctx, 503, { status: 'not ready', waiting: deps.waiting?.() ?? [] });
        return;
      }
      default:
        throw new GatewayError('GW_ROUTE_NOT_FOUND', { detail: `no route for ${ctx.path}` });
    }
  };
}
