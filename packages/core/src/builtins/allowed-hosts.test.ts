import type { IncomingMessage } from 'node:http';
import { describe, expect, it } from 'vitest';
import { isGatewayError } from '../errors.js';
import type { GatewayContext } from '../types.js';
import { allowedHosts } from './allowed-hosts.js';

const ctxWithHost = (host?: string) =>
  ({ req: { headers: host === undefined ? {} : { host } } as IncomingMessage }) as GatewayContext;

function verdict(check: (ctx: GatewayContext) => void, host?: string): 'allowed' | string {
  try {
    check(ctxWithHost(host));
    return 'allowed';
  } catch (err) {
    if (isGatewayError(err)) return err.code;
    throw err;
  }
}

describe('allowedHosts', () => {
  it('is off when any host is allowed', () => {
    expect(allowedHosts(['*'])).toBeUndefined();
  });

  const check = allowedHosts(['api.lucid.dev', '*.internal.lucid.dev', 'localhost', '127.0.0.1', '::1'])!;

  it.each([
    'api.lucid.dev',
    'API.Lucid.Dev',
    'api.lucid.dev:8080',
    'api.lucid.dev.',
    'auth.internal.lucid.dev',
    'b.internal.lucid.dev:443',
    'localhost:3000',
    '127.0.0.1:8080',
    '[::1]:8080',
    '[::1]',
  ])('allows %s', (host) => {
    expect(verdict(check, host)).toBe('allowed');
  });

  it.each([
    'evil.example',
    'api.lucid.dev.evil.example',
    'evilapi.lucid.dev',
    'internal.lucid.dev',
    'xinternal.lucid.dev',
    // One label, as TLS wildcards match (RFC 6125 §6.4.3), and as routes match.
    'a.b.internal.lucid.dev',
    '127.0.0.2',
    '[::2]:80',
    '',
  ])('refuses %s', (host) => {
    expect(verdict(check, host)).toBe('GW_HOST_NOT_ALLOWED');
  });

  it('refuses a request without a Host header', () => {
    expect(verdict(check, undefined)).toBe('GW_HOST_NOT_ALLOWED');
  });

  it('answers 400', () => {
    try {
      check(ctxWithHost('evil.example'));
    } catch (err) {
      expect(isGatewayError(err) && err.status).toBe(400);
      return;
    }
    throw new Error('expected a refusal');
  });
});
