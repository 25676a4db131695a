import type { IncomingMessage } from 'node:http';
import { describe, expect, it } from 'vitest';
import { bearerToken, headerCount } from './credentials.js';

describe('headerCount', () => {
  it('counts every copy as sent, whatever the case', () => {
    const req = { rawHeaders: ['Authorization', 'Bearer a', 'host', 'x', 'AUTHORIZATION', 'Bearer b'] };
    expect(headerCount(req as unknown as IncomingMessage, 'authorization')).toBe(2);
    expect(headerCount(req as unknown as IncomingMessage, 'x-api-key')).toBe(0);
  });
});

describe('bearerToken', () => {
  it('takes the token of a Bearer credential, scheme in any case', () => {
    expect(bearerToken('Bearer abc.def.ghi')).toBe('abc.def.ghi');
    expect(bearerToken('bearer abc')).toBe('abc');
    expect(bearerToken('BEARER  abc==')).toBe('abc==');
  });

  it('refuses other schemes and anything that is not a b64token', () => {
    expect(bearerToken('Basic dXNlcjpwYXNz')).toBeUndefined();
    expect(bearerToken('Bearer')).toBeUndefined();
    expect(bearerToken('Bearer a b')).toBeUndefined();
    expect(bearerToken('Bearer a"b')).toBeUndefined();
    expect(bearerToken('Bearer=abc')).toBeUndefined();
  });
});
