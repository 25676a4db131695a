import { describe, expect, it } from 'vitest';
import type { HealthEntry } from '../src/index.js';
import { toTargets } from '../src/index.js';

const entry = (over: {
  address?: string;
  node?: string;
  port?: number;
  id?: string;
  weight?: number;
}): HealthEntry => ({
  Node: { Node: 'n1', Address: over.node ?? '10.0.0.1', Datacenter: 'dc1' },
  Service: {
    ID: over.id ?? 'svc-1',
    Service: 'sessions',
    Address: over.address ?? '',
    Port: over.port ?? 8080,
    ...(over.weight ? { Weights: { Passing: over.weight, Warning: 1 } } : {}),
  },
  Checks: [],
});

describe('toTargets', () => {
  it('uses the service address, else the node address, as an origin id', () => {
    const targets = toTargets(
      [entry({ address: '10.0.0.9', id: 'a' }), entry({ port: 9090, id: 'b' })],
      'http',
    );
    expect(targets.map((t) => t.id)).toEqual(['http://10.0.0.1:9090', 'http://10.0.0.9:8080']);
    expect(targets[1]!.url.href).toBe('http://10.0.0.9:8080/');
    expect(targets[1]!.meta).toEqual({ node: 'n1', serviceId: 'a', datacenter: 'dc1' });
  });

  it('brackets IPv6, honours https and Consul weights, drops duplicates and portless entries', () => {
    const targets = toTargets(
      [
        entry({ address: 'fd00::5', weight: 3 }),
        entry({ address: 'fd00::5', id: 'dup' }),
        entry({ address: '10.0.0.2', port: 0 }),
      ],
      'https',
    );
    expect(targets).toHaveLength(1);
    expect(targets[0]!.id).toBe('https://[fd00::5]:8080');
    expect(targets[0]!.weight).toBe(3);
  });
});
