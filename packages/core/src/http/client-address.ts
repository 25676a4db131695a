import type { IncomingMessage } from 'node:http';
import { BlockList, isIPv4 } from 'node:net';
import type { TLSSocket } from 'node:tls';

/** Decides whether a peer address belongs to a trusted proxy (`server.trustProxy`). */
export type TrustCheck = (ip: string) => boolean;

/** Compiles the trusted CIDRs once; undefined when nothing is trusted (the common, fastest case). */
export function compileTrust(cidrs: readonly string[]): TrustCheck | undefined {
  if (cidrs.length === 0) return undefined;
  const list = new BlockList();
  for (const entry of cidrs) {
    const [addr, bits] = entry.split('/') as [string, string | undefined];
    const type = isIPv4(addr) ? 'ipv4' : 'ipv6';
    if (bits === undefined) list.addAddress(addr, type);
    else list.addSubnet(addr, Number(bits), type);
  }
  return (ip) => {
    if (!ip) return false;
    return list.check(ip, isIPv4(ip) ? 'ipv4' : 'ipv6');
  };
}

/**
 * Whether the request named more than one host (answer 400): more than one Host line (RFC 9112
 * §3.2; Node keeps the first, a proxy in front may have used another), or, over HTTP/2, a Host that
 * differs from `:authority` (RFC 9113 §8.3.1). Either way two readers would disagree on where it goes.
 */
export function hasDuplicateHost(rawHeaders: readonly string[]): boolean {
  let host: string | undefined;
  let authority: string | undefined;
  for (let i = 0; i < rawHeaders.length; i += 2) {
    const name = rawHeaders[i]!;
    if (name === ':authority') {
      if (authority !== undefined) return true;
      authority = rawHeaders[i + 1]!;
    } else if (name.length === 4 && name.toLowerCase() === 'host') {
      if (host !== undefined) return true;
      host = rawHeaders[i + 1]!;
    }
  }
  return host !== undefined && authority !== undefined && host.toLowerCase() !== authority.toLowerCase();
}

/** `::ffff:10.0.0.1` → `10.0.0.1`, so one client has one address whatever the socket family. */
export function plainAddress(addr: string | undefined): string {
  if (!addr) return '';
  return addr.startsWith('::ffff:') && addr.includes('.') ? addr.slice(7) : addr;
}

export interface ClientAddress {
  ip: string;
  protocol: 'http' | 'https';
  /** What the client asked for as Host (from a trusted proxy's X-Forwarded-Host when there is one). */
  host: string | undefined;
  /** The X-Forwarded-For value to send upstream. */
  forwardedFor: string;
}

/**
 * Works out who the client is. X-Forwarded-* headers are believed only when the socket peer is a
 * trusted proxy; then the client is the right-most address that is not itself a trusted proxy.
 */
export function clientAddress(req: IncomingMessage, trust: TrustCheck | undefined): ClientAddress {
  const peer = plainAddress(req.socket.remoteAddress);
  const encrypted = (req.socket as TLSSocket).encrypted === true;
  if (trust === undefined || !trust(peer)) {
    return { ip: peer, protocol: encrypted ? 'https' : 'http', host: req.headers.host, forwardedFor: peer };
  }
  const xff = req.headers['x-forwarded-for'];
  let ip = peer;
  if (typeof xff === 'string' && xff !== '') {
    const hops = xff.split(',');
    for (let i = hops.length - 1; i >= 0; i--) {
      const hop = plainAddress(hops[i]!.trim());
      if (hop === '') continue;
      ip = hop;
      if (!trust(hop)) break;
    }
  }
  const proto = firstValue(req.headers['x-forwarded-proto'])?.toLowerCase();
  return {
    ip,
    protocol: proto === 'https' ? 'https' : proto === 'http' ? 'http' : encrypted ? 'https' : 'http',
    host: firstValue(req.headers['x-forwarded-host']) ?? req.headers.host,
    forwardedFor: typeof xff === 'string' && xff !== '' ? `${xff}, ${peer}` : peer,
  };
}

function firstValue(v: string | string[] | undefined): string | undefined {
  if (v === undefined) return undefined;
  const s = Array.isArray(v) ? v[0] : v;
  if (s === undefined) return undefined;
  const comma = s.indexOf(',');
  const out = (comma === -1 ? s : s.slice(0, comma)).trim();
  return out === '' ? undefined : out;
}
