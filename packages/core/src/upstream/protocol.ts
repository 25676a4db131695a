import type { ServiceConfig } from '../config/schema.js';

/** True when a service's targets are reached over HTTP/2: `http2: true`, or h2c:// targets. */
export function speaksHttp2(service: Pick<ServiceConfig, 'http2' | 'targets'>): boolean {
  return service.http2 ?? service.targets.some((t) => t.url.startsWith('h2c:'));
}

/**
 * The URL a target is reached at: an h2c:// target is cleartext HTTP, spoken as HTTP/2 by the
 * service's engine (its id and health checks then read as http://host:port).
 */
export function transportUrl(url: string): URL {
  const u = new URL(url);
  if (u.protocol !== 'h2c:') return u;
  return new URL(`http://${u.host}`);
}

/** Where a URL is dialled: its host without IPv6 brackets, and its port or the scheme's default. */
export function dialAddress(url: URL): { host: string; port: number } {
  const host = url.hostname.startsWith('[') ? url.hostname.slice(1, -1) : url.hostname;
  return { host, port: Number(url.port) || (url.protocol === 'https:' ? 443 : 80) };
}
