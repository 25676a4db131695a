import { describe, expect, it } from 'vitest';
import { buildIdentity, headerValue, readScopes } from './identity.js';

const opts = {
  tierClaim: 'tier',
  scopesClaim: undefined,
  forward: { 'x-user-id': 'sub', 'x-user-tier': 'tier', 'x-user-scopes': 'scope' },
};

describe('readScopes', () => {
  it('reads the space-separated scope claim, then scp as an array or a string', () => {
    expect(readScopes({ scope: 'read  write' }, undefined)).toEqual(['read', 'write']);
    expect(readScopes({ scp: ['read', 7, 'admin'] }, undefined)).toEqual(['read', 'admin']);
    expect(readScopes({ scp: 'read' }, undefined)).toEqual(['read']);
    expect(readScopes({}, undefined)).toEqual([]);
  });

  it('drops items that are not one RFC 6749 scope-token, whatever the claim shape', () => {
    expect(readScopes({ scp: ['read admin', 'write'] }, undefined)).toEqual(['write']);
    expect(readScopes({ scope: 'read\tadmin write' }, undefined)).toEqual(['write']);
    expect(readScopes({ scope: 'read\nadmin' }, undefined)).toEqual([]);
    expect(
      readScopes({ scp: [['admin'], { admin: true }, null, 'ok', 'a"b', 'a\\b', 'Zoë'] }, undefined),
    ).toEqual(['ok']);
    expect(readScopes({ scope: { admin: true } }, undefined)).toEqual([]);
    expect(readScopes({ scope: ['admin'] }, undefined)).toEqual(['admin']);
    expect(readScopes({ scope: 1 }, undefined)).toEqual([]);
  });

  it('reads only the configured claim when one is set', () => {
    expect(readScopes({ scope: 'read', permissions: ['admin'] }, 'permissions')).toEqual(['admin']);
    expect(readScopes({ scope: 'read' }, 'permissions')).toEqual([]);
  });
});

describe('headerValue', () => {
  it('keeps visible ASCII, joins arrays and serializes objects', () => {
    expect(headerValue('user-1')).toBe('user-1');
    expect(headerValue(42)).toBe('42');
    expect(headerValue(['a', 'b'])).toBe('a,b');
    expect(headerValue({ a: 1 })).toBe('{"a":1}');
    expect(headerValue(undefined)).toBeUndefined();
    expect(headerValue('')).toBeUndefined();
  });

  it('percent-encodes anything that could break or smuggle a header line', () => {
    expect(headerValue('x\r\nx-user-tier: enterprise')).toBe('x%0D%0Ax-user-tier%3A%20enterprise');
    expect(headerValue('Zoë')).toBe('Zo%C3%AB');
    expect(headerValue(' padded ')).toBe('%20padded%20');
  });
});

describe('buildIdentity', () => {
  it('computes tier, scopes and forwarded headers once, and freezes the claims', () => {
    const claims = { sub: 'user-1', tier: 'premium', scp: ['read', 'write'], profile: { name: 'x' } };
    const id = buildIdentity(claims, opts, 1000);
    expect(id.tier).toBe('premium');
    expect([...id.scopes]).toEqual(['read', 'write']);
    // The scopes header carries the normalized list, whichever claim held it.
    expect(id.forward).toEqual([
      ['x-user-id', 'user-1'],
      ['x-user-tier', 'premium'],
      ['x-user-scopes', 'read write'],
    ]);
    expect(Object.isFrozen(id.claims)).toBe(true);
    expect(Object.isFrozen(id.claims.profile)).toBe(true);
    expect(id.expiresAt).toBe(1000);
  });

  it('leaves out headers whose claim is absent and ignores a tier that is not a string or number', () => {
    for (const tier of [{ level: 1 }, ['enterprise'], true, null, '', Number.POSITIVE_INFINITY]) {
      const id = buildIdentity({ sub: 'u', tier }, opts, 0);
      expect(id.tier).toBeUndefined();
      // The tier header says what the gateway went by: nothing, not the claim's raw shape.
      expect(id.forward).toEqual([['x-user-id', 'u']]);
    }
    expect(buildIdentity({ sub: 'u', tier: 2 }, opts, 0).tier).toBe('2');
  });
});
