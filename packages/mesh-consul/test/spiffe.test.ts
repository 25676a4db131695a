import type { PeerCertificate } from 'node:tls';
import { describe, expect, it } from 'vitest';
import { parseServiceSpiffeId, serviceSpiffeId, spiffeIdentityCheck, uriSans } from '../src/index.js';

const peer = (subjectaltname: string) => ({ subjectaltname }) as PeerCertificate;

describe('SPIFFE identities', () => {
  it('builds and reads Connect service ids', () => {
    const id = serviceSpiffeId({
      trustDomain: 'abc.consul',
      namespace: 'default',
      datacenter: 'dc1',
      service: 'web',
    });
    expect(id).toBe('spiffe://abc.consul/ns/default/dc/dc1/svc/web');
    expect(parseServiceSpiffeId(id)).toEqual({
      trustDomain: 'abc.consul',
      namespace: 'default',
      datacenter: 'dc1',
      service: 'web',
    });
    expect(parseServiceSpiffeId('spiffe://abc.consul/ap/p1/ns/x/dc/dc2/svc/api')).toMatchObject({
      partition: 'p1',
      service: 'api',
    });
    expect(parseServiceSpiffeId('spiffe://abc.consul/agent/client/dc/dc1/id/x')).toBeUndefined();
  });

  it('reads URI SANs from the peer certificate', () => {
    expect(
      uriSans(peer('DNS:web.svc.default.abc.consul, URI:spiffe://abc.consul/ns/default/dc/dc1/svc/web')),
    ).toEqual(['spiffe://abc.consul/ns/default/dc/dc1/svc/web']);
    expect(uriSans(peer('URI:"spiffe://a/b,c"'))).toEqual(['spiffe://a/b,c']);
    expect(uriSans({ subjectaltname: undefined } as unknown as PeerCertificate)).toEqual([]);
  });

  it('accepts only the expected identity', () => {
    const check = spiffeIdentityCheck(() => 'spiffe://abc.consul/ns/default/dc/dc1/svc/web');
    expect(check('10.0.0.1', peer('URI:spiffe://abc.consul/ns/default/dc/dc1/svc/web'))).toBeUndefined();
    const err = check('10.0.0.1', peer('URI:spiffe://abc.consul/ns/default/dc/dc1/svc/billing'));
    expect(err).toBeInstanceOf(Error);
    expect(err).toMatchObject({ code: 'ERR_SPIFFE_ID_MISMATCH' });
    expect(check('10.0.0.1', peer('DNS:web'))?.message).toMatch(/no URI SAN/);
    expect(spiffeIdentityCheck(() => undefined)('h', peer('URI:x'))).toBeInstanceOf(Error);
  });
});
