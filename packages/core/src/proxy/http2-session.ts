import type { ClientHttp2Session, SecureClientSessionOptions } from 'node:http2';
import { connect } from 'node:http2';
import { connect as netConnect } from 'node:net';
import type { Duplex } from 'node:stream';
import { connect as tlsConnect } from 'node:tls';
import type { Target, TransportOptions } from '../types.js';
import { dialAddress } from '../upstream/protocol.js';
import { UpstreamConnectTimeoutError } from './upstream-error.js';

/** Peers advertise no limit until their SETTINGS arrive; RFC 9113 suggests at least 100. */
const ASSUMED_STREAMS = 100;

/** One connection to a target and the streams open on it. */
export class Session {
  active = 0;
  /** No new streams: closing, closed, or told to go away. */
  done = false;
  readonly ready: Promise<void>;

  constructor(
    readonly h2: ClientHttp2Session,
    connectTimeout: number,
    idleTimeout: number,
    onDone: (s: Session) => void,
  ) {
    const finish = () => {
      if (this.done) return;
      this.done = true;
      onDone(this);
    };
    this.ready = new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        h2.destroy(new UpstreamConnectTimeoutError(connectTimeout));
      }, connectTimeout);
      h2.once('connect', () => {
        clearTimeout(timer);
        resolve();
      });
      h2.once('close', () => {
        clearTimeout(timer);
        reject(new Error('session closed before it connected'));
      });
      h2.once('error', (err) => {
        clearTimeout(timer);
        reject(err);
      });
    });
    // Each request waits on `ready` itself; an unobserved rejection is not a crash.
    this.ready.catch(() => {});
    h2.on('error', finish);
    h2.once('close', finish);
    h2.once('goaway', finish);
    h2.setTimeout(idleTimeout, () => {
      if (this.active === 0) {
        finish();
        h2.close();
      }
    });
  }

  get capacity(): number {
    return this.h2.remoteSettings?.maxConcurrentStreams ?? ASSUMED_STREAMS;
  }

  /** Closes gracefully (open streams may finish); a session still busy after `graceMs` is cut. */
  close(graceMs = 5_000): Promise<void> {
    this.done = true;
    if (this.h2.closed || this.h2.destroyed) return Promise.resolve();
    return new Promise<void>((resolve) => {
      const cut = setTimeout(() => this.h2.destroy(), graceMs);
      cut.unref();
      this.h2.close(() => {
        clearTimeout(cut);
        resolve();
      });
    });
  }
}

/** How sessions to upstreams are opened: the settings sent, and how long an idle one stays. */
export interface SessionOptions {
  /** A session without streams for this long is closed (ms). */
  idleTimeout: number;
  /** Largest response header list accepted from an upstream (bytes). */
  maxHeaderListSize: number;
}

/** Opens a session to a target over the transport's TLS (ALPN h2) or in cleartext (h2c). */
export function openSession(
  target: Target,
  transport: TransportOptions,
  opts: SessionOptions,
  onDone: (s: Session) => void,
): Session {
  const tls = transport.tls;
  const options: SecureClientSessionOptions = {
    settings: { enablePush: false, maxHeaderListSize: opts.maxHeaderListSize },
    ...(target.url.protocol === 'https:' && {
      ...tls,
      ALPNProtocols: ['h2'],
      ...(tls?.servername === undefined && isHostname(target.url.hostname)
        ? { servername: target.url.hostname }
        : {}),
    }),
  };
  const h2 = connect(target.url.origin, { ...options, createConnection: () => dial(target.url, options) });
  return new Session(h2, transport.connectTimeout, opts.idleTimeout, onDone);
}

/**
 * The session's socket, with Nagle's algorithm off: a unary call is a few small frames each way
 * (HEADERS, DATA, trailers), and Nagle would hold them for the peer's delayed ACK, tens of ms a
 * call, while both ends sit idle (node:http2 leaves the default on and forbids setting it later).
 */
function dial(url: URL, options: SecureClientSessionOptions): Duplex {
  const address = dialAddress(url);
  if (url.protocol !== 'https:') return netConnect({ ...address, noDelay: true });
  const socket = tlsConnect({ ...options, ...address });
  socket.setNoDelay(true);
  return socket;
}

function isHostname(host: string): boolean {
  return !host.startsWith('[') && !/^\d+\.\d+\.\d+\.\d+$/.test(host);
}
