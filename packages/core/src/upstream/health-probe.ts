import { type ClientHttp2Session, connect as connectHttp2, constants } from 'node:http2';
import { connect } from 'node:net';
import type { TlsOptions } from '../types.js';

/** The TLS a probe opens its connection with, read per probe: a plugin's rotates (`version` changes). */
export type ProbeTls = () => (TlsOptions & { version?: string }) | undefined;

const asSource = (tls: TlsOptions | ProbeTls | undefined): ProbeTls =>
  typeof tls === 'function' ? tls : () => tls;

import { dialAddress } from './protocol.js';
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
export function httpProbe(tls?: TlsOptions | ProbeTls): { probe: Probe; close(): Promise<void> } {
  const source = asSource(tls);
  // One dispatcher per TLS material: a certificate rotation (a new `version`) gets a new one.
  let held: { key: unknown; dispatcher: Dispatcher } | undefined;
  const dispatcherFor = (current: ReturnType<ProbeTls>): Dispatcher | undefined => {
    if (current === undefined) return undefined;
    const key = current.version ?? current;
    if (held?.key === key) return held.dispatcher;
    const previous = held?.dispatcher;
    held = { key, dispatcher: new Agent({ connect: current }) };
    void previous?.close().catch(() => {});
    return held.dispatcher;
  };
  return {
    async probe(url, timeoutMs, signal) {
      const dispatcher = url.protocol === 'https:' ? dispatcherFor(source()) : undefined;
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
      await held?.dispatcher.close();
      held = undefined;
    },
  };
}

/** One check exchange on an HTTP/2 session: resolves true when the target is healthy. */
export type Http2Check = (session: ClientHttp2Session, url: URL, timeoutMs: number) => Promise<boolean>;

/** GET the check path; healthy on 2xx/3xx. */
export const plainGetCheck: Http2Check = (session, url) =>
  new Promise<boolean>((resolve, reject) => {
    const stream = session.request(
      { ':method': 'GET', ':path': url.pathname + url.search },
      { endStream: true },
    );
    stream.once('response', (headers) => {
      const status = Number(headers[constants.HTTP2_HEADER_STATUS]);
      stream.close();
      resolve(status >= 200 && status < 400);
    });
    stream.once('error', reject);
    stream.once('close', () => resolve(false));
  });

/**
 * The active probe of a service spoken over HTTP/2 (h2c, or TLS with ALPN "h2"): a fresh session per
 * probe, closed after it, as `httpProbe` does with connections. `check` is the exchange (a plain GET
 * by default; another protocol's health request fits the same seam).
 */
export function http2Probe(
  tls?: TlsOptions | ProbeTls,
  check: Http2Check = plainGetCheck,
): { probe: Probe; close(): Promise<void> } {
  const source = asSource(tls);
  return {
    async probe(url, timeoutMs, signal) {
      const session = connectHttp2(
        url.origin,
        url.protocol === 'https:' ? { ...source(), ALPNProtocols: ['h2'] } : {},
      );
      session.on('error', () => {});
      const stop = () => session.destroy();
      const timer = setTimeout(stop, timeoutMs);
      signal.addEventListener('abort', stop, { once: true });
      try {
        return await Promise.race([
          check(session, url, timeoutMs),
          new Promise<boolean>((resolve) => session.once('close', () => resolve(false))),
        ]);
      } catch {
        return false;
      } finally {
        clearTimeout(timer);
        signal.removeEventListener('abort', stop);
        session.destroy();
      }
    },
    async close() {},
  };
}

/** Healthy when a TCP connection to the target's host and port opens within the timeout. */
export const tcpProbe: Probe = (url, timeoutMs, signal) =>
  new Promise<boolean>((resolve) => {
    const socket = connect(dialAddress(url));
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
