import { describe, expect, it } from 'vitest';
import { buildIdentity } from '../identity/identity.js';
import { compileRoutePolicy } from './route-policy.js';

const who = (claims: Record<string, unknown>) =>
  buildIdentity(claims, { tierClaim: 'tier', scopesClaim: undefined, forward: {} }, 9e15);

describe('compileRoutePolicy', () => {
  it('treats a route as protected unless it says public', () => {
    expect(compileRoutePolicy({}).isPublic).toBe(false);
    expect(compileRoutePolicy({ auth: 'required' }).isPublic).toBe(false);
    expect(compileRoutePolicy({ auth: 'public' }).isPublic).toBe(true);
  });

  it('matches claims by value, by any item of an array, and by dotted path', () => {
    const policy = compileRoutePolicy({
      claims: { role: ['admin', 'ops'], 'realm_access.roles': 'billing' },
    });
    expect(policy.authorize(who({ role: 'ops', realm_access: { roles: ['x', 'billing'] } }))).toBeUndefined();
    expect(policy.authorize(who({ role: 'user', realm_access: { roles: ['billing'] } }))).toMatchObject({
      reason: 'claim_mismatch',
    });
    expect(policy.authorize(who({ role: 'admin' }))).toMatchObject({ reason: 'claim_mismatch' });
  });

  it('prefers a claim whose name contains dots over a path', () => {
    const policy = compileRoutePolicy({ claims: { 'https://lucid.example/role': 'admin' } });
    expect(policy.authorize(who({ 'https://lucid.example/role': 'admin' }))).toBeUndefined();
  });

  it('does not walk into inherited properties', () => {
    const policy = compileRoutePolicy({ claims: { 'a.constructor': 'x', toString: 'y' } });
    expect(policy.authorize(who({ a: {} }))).toMatchObject({ reason: 'claim_mismatch' });
  });
});
