import { connect } from 'node:net';
import type { ServiceConfig } from '../config/schema.js';
import type { Probe } from './health-probe.js';

/** A service's active check with every default filled in; no `path`: a TCP connect. */
export interface ResolvedHealthCheck {
  path: string | undefined;
  interval: number;
  timeout: number;
  healthyThreshold: number;
  unhealthyThreshold: number;
}

/**
 * The check a service gets: its own `health` settings, with interval and timeout from the
 * top-level `health` section unless it sets them; a service without `health` gets a TCP-connect
 * check on the same schedule (so /health always reports something measured); `false`: none.
 *
 * @example resolveHealthCheck('/health', { interval: 10_000, timeout: 2_000 }) // { path: '/health', interval: 10_000, ... }
 */
export function resolveHealthCheck(
  health: ServiceConfig['health'],
  defaults: { interval: number; timeout: number },
): ResolvedHealthCheck | undefined {
  if (health === false) return undefined;
  return {
    path: health?.path,
    interval: health?.interval ?? defaults.interval,
    timeout: health?.timeout ?? defaults.timeout,
    healthyThreshold: health?.healthyThreshold ?? 2,
    unhealthyThreshold: health?.unhealthyThreshold ?? 3,
  };
}

/** Healthy when a TCP connection to the target's host and port opens within the timeout. */
export const tcpProbe: Probe = (url, timeoutMs, signal) =>
  new Promise<boolean>((resolve) => {
    const port = Number(url.port) || (url.protocol === 'https:' ? 443 : 80);
    const host = url.hostname.startsWith('[') ? url.hostname.slice(1, -1) : url.hostname;
    const socket = connect({ host, port });
    const done = (ok: boolean) => {
      clearTimeout(timer);
      signal.removeEventListener('abort', abort);
      socket.destroy();
      resolve(ok);
    };
    const abort = () => done(false);
    const timer = setTimeout(abort, timeoutMs);
    signal.addEventListener('abort', abort, { once: true });
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
