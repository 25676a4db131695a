import { connect } from 'node:net';
import type { TlsOptions } from '../types.js';
import { Agent, type Dispatcher, request } from './undici-parts.js';

export type Probe = (url: URL, timeoutMs: number, signal: AbortSignal) => Promise<boolean>;

/**
 * An active health probe: GET the check path, healthy on 2xx/3xx within the timeout. Each probe
 * uses a fresh connection that is closed after it, so checks leave no pooled socket behind and a
 * stale keep-alive socket can never fail a check.
 *
 * @example
 * const probe = httpProbe();
 * const ok = await probe(new URL('http://10.0.0.5:8080/health'), 2_000, stop.signal);
 */
export function httpProbe(tls?: TlsOptions): { probe: Probe; close(): Promise<void> } {
  const dispatcher: Dispatcher | undefined = tls ? new Agent({ connect: tls }) : undefined;
  return {
    async probe(url, timeoutMs, signal) {
      try {
        const res = await request(url, {
          method: 'GET',
          reset: true,
          headersTimeout: timeoutMs,
          bodyTimeout: timeoutMs,
          signal: AbortSignal.any([signal, AbortSignal.timeout(timeoutMs)]),
          ...(dispatcher && { dispatcher }),
        });
        await res.body.dump();
        return res.statusCode >= 200 && res.statusCode < 400;
      } catch {
        return false;
      }
    },
    async close() {
      await dispatcher?.close();
    },
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
