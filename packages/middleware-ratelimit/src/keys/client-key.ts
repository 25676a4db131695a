import { createHash } from 'node:crypto';
import { isIPv6 } from 'node:net';

/**
 * The rate-limit identity of a client address: IPv4 as is, IPv6 by its /64 (one host usually owns
 * a whole /64, so per-address keys would let it mint 2^64 budgets). IPv4-mapped IPv6 counts as IPv4.
 *
 * @example ipKey('2001:db8:1:2:aaaa::1') // '2001:db8:1:2::/64'
 */
export function ipKey(ip: string): string {
  if (ip.indexOf(':') === -1) return ip;
  const zone = ip.indexOf('%');
  const addr = zone === -1 ? ip : ip.slice(0, zone);
  if (!isIPv6(addr)) return addr;
  const lower = addr.toLowerCase();
  if (lower.startsWith('::ffff:') && lower.includes('.')) return lower.slice(7);
  return `${firstFourGroups(lower).join(':')}::/64`;
}

/** The first four 16-bit groups of a valid IPv6 address, without leading zeros. */
function firstFourGroups(addr: string): string[] {
  const gap = addr.indexOf('::');
  let groups: string[];
  if (gap === -1) {
    groups = addr.split(':');
  } else {
    const head = addr.slice(0, gap) === '' ? [] : addr.slice(0, gap).split(':');
    const tailText = addr.slice(gap + 2);
    const tail = tailText === '' ? [] : tailText.split(':');
    // An embedded IPv4 tail counts as two groups.
    const tailGroups = tail.length + (tail.at(-1)?.includes('.') ? 1 : 0);
    groups = [...head, ...Array<string>(8 - head.length - tailGroups).fill('0'), ...tail];
  }
  return groups.slice(0, 4).map((g) => (g.includes('.') ? '0' : g.replace(/^0+(?=.)/, '')));
}

/** A fixed-size stand-in for a secret-bearing value (an API key), so none is stored or sent to Redis. */
export function hashedKey(value: string): string {
  return createHash('sha256').update(value).digest('base64url').slice(0, 22);
}
