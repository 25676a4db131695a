import type { PeerCertificate } from 'node:tls';

export interface ServiceIdentity {
  trustDomain: string;
  namespace: string;
  datacenter: string;
  service: string;
}

/**
 * Consul Connect's SPIFFE id for a service.
 *
 * @example serviceSpiffeId({ trustDomain: 'abc.consul', namespace: 'default', datacenter: 'dc1', service: 'web' })
 * // 'spiffe://abc.consul/ns/default/dc/dc1/svc/web'
 */
export function serviceSpiffeId(id: ServiceIdentity): string {
  return `spiffe://${id.trustDomain}/ns/${id.namespace}/dc/${id.datacenter}/svc/${id.service}`;
}

/** Reads a Connect service SPIFFE id (with or without an admin partition segment). */
export function parseServiceSpiffeId(uri: string): (ServiceIdentity & { partition?: string }) | undefined {
  const m = /^spiffe:\/\/([^/]+)(?:\/ap\/([^/]+))?\/ns\/([^/]+)\/dc\/([^/]+)\/svc\/([^/]+)$/.exec(uri);
  if (!m) return undefined;
  return {
    trustDomain: m[1]!,
    ...(m[2] ? { partition: m[2] } : {}),
    namespace: m[3]!,
    datacenter: m[4]!,
    service: m[5]!,
  };
}

/** The URI SANs of a peer certificate, from Node's `subjectaltname` text. */
export function uriSans(cert: Pick<PeerCertificate, 'subjectaltname'>): string[] {
  const text = cert.subjectaltname;
  if (!text) return [];
  const out: string[] = [];
  for (const part of text.split(', ')) {
    if (!part.startsWith('URI:')) continue;
    const value = part.slice(4);
    // Node quotes values with unusual characters as JSON strings.
    if (value.startsWith('"')) {
      try {
        out.push(JSON.parse(value) as string);
      } catch {}
    } else {
      out.push(value);
    }
  }
  return out;
}

/**
 * A `checkServerIdentity` that accepts the peer only if it carries the expected SPIFFE id;
 * with Connect it replaces the host-name check (Connect certificates name services, not hosts).
 *
 * @example tls.connect({ ca, cert, key, checkServerIdentity: spiffeIdentityCheck(() => 'spiffe://abc.consul/ns/default/dc/dc1/svc/web') })
 */
export function spiffeIdentityCheck(
  expected: () => string | undefined,
): (host: string, cert: PeerCertificate) => Error | undefined {
  return function checkSpiffeIdentity(_host, cert) {
    const want = expected();
    if (!want) return new Error('upstream identity cannot be checked: Consul Connect roots are not loaded');
    const got = uriSans(cert);
    if (got.includes(want)) return undefined;
    const err = new Error(
      `upstream identity ${got.length ? got.join(', ') : '(no URI SAN)'} does not match ${want}`,
    ) as Error & { code: string };
    err.code = 'ERR_SPIFFE_ID_MISMATCH';
    return err;
  };
}
