import { describe, expect, it } from 'vitest';
import { createGateway } from '../gateway.js';
import { CERTIFICATES } from './checks.js';
import { ConfigError } from './errors.js';
import { parseConfig } from './validate.js';

const acme = { domains: ['api.example.org'] };
const issues = (server: Record<string, unknown>, provides: string[] = [CERTIFICATES]) => {
  try {
    parseConfig({ server }, { provides: new Set(provides) });
    return [];
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    return err.issues.map((i) => `${i.path}: ${i.message}`);
  }
};

describe('server.tls.acme and server.tls.hsts', () => {
  it('takes the documented defaults', () => {
    const config = parseConfig({ server: { tls: { acme } } }, { provides: new Set([CERTIFICATES]) });
    expect(config.server.tls?.acme).toEqual({
      domains: ['api.example.org'],
      directory: 'https://acme-v02.api.letsencrypt.org/directory',
      storage: 'acme',
      challenge: 'http-01',
      renewBefore: 30 * 86_400_000,
      httpPort: 80,
    });
    expect(config.server.tls?.hsts).toBe(false);
  });

  it('says what is wrong, at its path', () => {
    expect(issues({ tls: { acme: { domains: ['*.example.org'] } } })).toEqual([
      'server.tls.acme.domains[0]: "*.example.org": a wildcard needs the dns-01 challenge, which the gateway cannot answer (list each name)',
    ]);
    expect(issues({ tls: { acme: { domains: [] } } })[0]).toMatch(
      /^server\.tls\.acme\.domains: list the names/,
    );
    expect(issues({ tls: { acme: { domains: ['localhost'] } } })[0]).toMatch(/is not a DNS name/);
    expect(issues({ tls: { acme: { domains: ['a.example.org/x'] } } })[0]).toMatch(/is not a DNS name/);
    expect(issues({ tls: { acme: { ...acme, directory: 'http://ca.example/dir' } } })[0]).toMatch(
      /^server\.tls\.acme\.directory: expected the https:\/\/ URL/,
    );
    expect(issues({ tls: { acme: { ...acme, challenge: 'dns-01' } } })[0]).toMatch(
      /expected "http-01" or "tls-alpn-01"/,
    );
    expect(issues({ tls: { acme: { ...acme, renewBefore: 'soon' } } })[0]).toMatch(
      /renewBefore: "soon" is not a duration/,
    );
    expect(issues({ tls: { acme, cert: 'c.pem' } })).toEqual([
      'server.tls.cert: comes from ACME when "acme" is set (remove it, or remove "acme")',
    ]);
    expect(issues({ tls: { cert: 'c.pem' } })[0]).toMatch(/^server\.tls\.key: missing/);
    expect(issues({ tls: { hsts: { maxAge: 'x' } } }).some((i) => i.startsWith('server.tls.hsts'))).toBe(
      true,
    );
  });

  it('refuses acme with no plugin to bring the certificates (fail closed, not plain HTTP)', () => {
    expect(issues({ tls: { acme } }, [])).toEqual([
      'server.tls.acme: no plugin brings the certificates (one that provides "certificates"; the lucid-gateway CLI adds the ACME engine for this section)',
    ]);
    expect(() => createGateway({ server: { tls: { acme } } })).toThrow(ConfigError);
  });

  it('spells HSTS as browsers read it', async () => {
    const { hstsValue } = await import('../server/tls-options.js');
    expect(hstsValue(false)).toBeUndefined();
    expect(hstsValue({ maxAge: 365 * 86_400_000, includeSubDomains: true, preload: true })).toBe(
      'max-age=31536000; includeSubDomains; preload',
    );
  });
});
