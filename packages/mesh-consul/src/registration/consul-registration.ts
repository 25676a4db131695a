import { hostname } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import type { ComponentHealth, Gateway } from '@lucid/gateway-core';
import { backoffDelay } from '../client/backoff.js';
import type { AgentServiceRegistration } from '../client/types.js';
import type { RegisterConfig } from '../config/schema.js';
import type { MeshContext } from '../context.js';
import { describeError } from '../observability/log.js';

export interface ConsulRegistration {
  /** Registers the gateway; when Consul is unreachable it keeps retrying in the background. */
  start(gateway: Gateway): Promise<void>;
  /** Stops retrying and deregisters (graceful close). */
  stop(): Promise<void>;
  health(): Promise<ComponentHealth>;
  /** The registration sent to the agent (after start). */
  readonly registration: AgentServiceRegistration | undefined;
}

const WILDCARD_HOSTS = new Set(['', '0.0.0.0', '::', '[::]']);

/**
 * Registers the gateway in Consul on start, with an HTTP check on its readiness endpoint, and
 * deregisters it on graceful close.
 */
export function createRegistration(ctx: MeshContext, register: RegisterConfig): ConsulRegistration {
  const controller = new AbortController();
  let registration: AgentServiceRegistration | undefined;
  let registered = false;
  let lastError: string | undefined;
  let retrying: Promise<void> | undefined;

  const attempt = async (body: AgentServiceRegistration): Promise<boolean> => {
    try {
      await ctx.api.register(body);
      registered = true;
      lastError = undefined;
      ctx.log.info(
        { service: body.name, id: body.id, check: body.check.http },
        'consul: registered the gateway',
      );
      return true;
    } catch (err) {
      ctx.metrics.error('register');
      lastError = describeError(err);
      return false;
    }
  };

  return {
    get registration() {
      return registration;
    },

    async start(gateway) {
      const body = buildRegistration(register, gateway);
      registration = body;
      if (await attempt(body)) return;
      ctx.log.warn(
        { service: body.name, error: lastError },
        'consul: registration failed, retrying in the background',
      );
      retrying = (async () => {
        for (let n = 1; !controller.signal.aborted; n += 1) {
          await sleep(backoffDelay(n, ctx.config.backoff), undefined, { signal: controller.signal }).catch(
            () => {},
          );
          if (controller.signal.aborted || (await attempt(body))) return;
        }
      })();
    },

    async stop() {
      controller.abort();
      await retrying;
      if (!registered || !registration) return;
      registered = false;
      try {
        await ctx.api.deregister(registration.id, 5_000);
        ctx.log.info({ id: registration.id }, 'consul: deregistered the gateway');
      } catch (err) {
        ctx.metrics.error('deregister');
        ctx.log.warn({ id: registration.id, error: describeError(err) }, 'consul: deregistration failed');
      }
    },

    async health() {
      if (!registration) return { healthy: true, detail: { registered: false } };
      return {
        healthy: registered,
        detail: { registered, id: registration.id, ...(lastError ? { lastError } : {}) },
      };
    },
  };
}

/** The agent registration for this gateway: explicit config first, then what the gateway listens on. */
export function buildRegistration(register: RegisterConfig, gateway: Gateway): AgentServiceRegistration {
  const bound = boundAddress(gateway);
  const port = register.port ?? bound?.port ?? gateway.config.server.port;
  const listenHost = bound?.host ?? gateway.config.server.host;
  // The agent runs the check; without an address, a wildcard listener is reached on loopback.
  const checkHost = register.address ?? (WILDCARD_HOSTS.has(listenHost) ? '127.0.0.1' : listenHost);
  const host = checkHost.includes(':') && !checkHost.startsWith('[') ? `[${checkHost}]` : checkHost;
  const id = register.id ?? `${register.name}-${hostname()}-${port}`;
  return {
    name: register.name,
    id,
    tags: register.tags,
    meta: register.meta,
    ...(register.address ? { address: register.address } : {}),
    port,
    check: {
      name: `${register.name} readiness`,
      http: `http://${host}:${port}${register.check.path}`,
      interval: `${register.check.interval}ms`,
      timeout: `${register.check.timeout}ms`,
      deregistercriticalserviceafter: `${register.check.deregisterAfter}ms`,
    },
  };
}

/** Where the gateway listens (its real port when it was asked for port 0). */
function boundAddress(gateway: Gateway): { port: number; host: string } | undefined {
  const addr = gateway.address();
  return addr && addr.port !== 0 ? addr : undefined;
}
