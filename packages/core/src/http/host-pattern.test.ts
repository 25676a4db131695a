import { describe, expect, it } from 'vitest';
import { hostMatches, hostNameOf, parseHostPattern } from './host-pattern.js';

describe('host patterns', () => {
  it.each([
    ['*', { kind: 'any' }],
    ['', { kind: 'any' }],
    ['API.Example.com', { kind: 'exact', name: 'api.example.com' }],
    ['api.example.com.:8443', { kind: 'exact', name: 'api.example.com' }],
    ['127.0.0.1', { kind: 'exact', name: '127.0.0.1' }],
    ['[::1]:8080', { kind: 'exact', name: '[::1]' }],
    ['::1', { kind: 'exact', name: '[::1]' }],
    ['*.example.com', { kind: 'wildcard', suffix: '.example.com' }],
  ])('parses %j', (text, pattern) => {
    expect(parseHostPattern(text)).toEqual(pattern);
  });

  it.each([
    '*.',
    '*.*.example.com',
    'a.*.example.com',
    'api*.example.com',
    '::/129',
    'a b',
    '[::1',
    '.',
    '[]',
    '*.[::1]',
  ])('refuses %j', (text) => {
    expect(parseHostPattern(text)).toBeUndefined();
  });

  it('matches one label under a wildcard, as TLS wildcards do (RFC 6125 §6.4.3)', () => {
    const p = parseHostPattern('*.example.com')!;
    expect(hostMatches(p, hostNameOf('api.example.com'))).toBe(true);
    expect(hostMatches(p, hostNameOf('API.EXAMPLE.COM:443'))).toBe(true);
    expect(hostMatches(p, hostNameOf('a.b.example.com'))).toBe(false);
    expect(hostMatches(p, hostNameOf('example.com'))).toBe(false);
    expect(hostMatches(p, hostNameOf('evilexample.com'))).toBe(false);
    expect(hostMatches(p, hostNameOf('.example.com'))).toBe(false);
  });

  it('compares exact names without case, port and trailing dot', () => {
    const p = parseHostPattern('api.example.com')!;
    expect(hostMatches(p, hostNameOf('Api.Example.Com.:8080'))).toBe(true);
    expect(hostMatches(p, hostNameOf('api.example.com.evil'))).toBe(false);
  });
});
