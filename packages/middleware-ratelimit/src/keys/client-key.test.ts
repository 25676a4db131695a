import { describe, expect, it } from 'vitest';
import { hashedKey, ipKey } from './client-key.js';

describe('ipKey', () => {
  it('keeps IPv4 and unwraps IPv4-mapped IPv6', () => {
    expect(ipKey('203.0.113.9')).toBe('203.0.113.9');
    expect(ipKey('::ffff:203.0.113.9')).toBe('203.0.113.9');
    expect(ipKey('::FFFF:203.0.113.9')).toBe('203.0.113.9');
  });

  it('groups IPv6 by /64, whatever the spelling', () => {
    const one = ipKey('2001:db8:1:2:aaaa:bbbb:cccc:dddd');
    expect(one).toBe('2001:db8:1:2::/64');
    expect(ipKey('2001:0db8:0001:0002::1')).toBe(one);
    expect(ipKey('2001:DB8:1:2:ffff::')).toBe(one);
    expect(ipKey('fe80::1%eth0')).toBe('fe80:0:0:0::/64');
    expect(ipKey('::1')).toBe('0:0:0:0::/64');
    expect(ipKey('2001:db8::')).toBe('2001:db8:0:0::/64');
    expect(ipKey('2001:db8:1:3::1')).not.toBe(one);
    expect(ipKey('::1.2.3.4')).toBe('0:0:0:0::/64');
    expect(ipKey('1:2:3:4:5:6:1.2.3.4')).toBe('1:2:3:4::/64');
  });
});

describe('hashedKey', () => {
  it('is fixed-size, stable and does not contain the value', () => {
    const k = hashedKey('sk_live_secret');
    expect(k).toHaveLength(22);
    expect(hashedKey('sk_live_secret')).toBe(k);
    expect(hashedKey('sk_live_other')).not.toBe(k);
    expect(k).not.toContain('secret');
  });
});
