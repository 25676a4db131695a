import { GatewayError } from '../errors.js';
import type { ComponentHealth, GatewayContext, GatewayHealth } from '../types.js';

export interface HealthDeps {
  name: string;
  version: string;
  /** Each service's state from its pool's cached background checks (never a live call). */
  services(): GatewayHealth['services'];
  /** Plugins' and discovery's own health (Redis, Consul, JWKS, ...). */
  components(): Promise<Record<string, ComponentHealth>>;
  /** False while starting or draining. */
  ready(): boolean;
}

const NO_STORE = 'no-store';

function sendJson(ctx: GatewayContext, status: number, value: unknown): void {
  const body = JSON.stringify(value);
  ctx.res.writeHead(status, {
    ...ctx.responseHeaders,
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(body),
    'cache-control': NO_STORE,
    'x-request-id': ctx.requestId,
  });
  ctx.res.end(ctx.req.method === 'HEAD' ? undefined : body);
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
export function healthHandler(deps: HealthDeps): (ctx: GatewayContext) => Promise<void> {
  return async function health(ctx: GatewayContext): Promise<void> {
    switch (ctx.route.upstreamPath) {
      case '/':
      case '': {
        const services = deps.services();
        const components = await deps.components();
        const status = overallStatus(services, components);
        const report: GatewayHealth = { status, service: deps.name, version: deps.version, services };
        if (Object.keys(components).length > 0) report.components = components;
        sendJson(ctx, status === 'unhealthy' ? 503 : 200, report);
        return;
      }
      case '/live':
        sendJson(ctx, 200, { status: 'up' });
        return;
      case '/ready': {
        const ready = deps.ready();
        sendJson(ctx, ready ? 200 : 503, { status: ready ? 'ready' : 'not ready' });
        return;
      }
      default:
        throw new GatewayError('GW_ROUTE_NOT_FOUND', { detail: `no route for ${ctx.path}` });
    }
  };
}
