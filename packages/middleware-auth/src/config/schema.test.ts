import { generateKeyPairSync, type KeyObject } from 'node:crypto';
import { ConfigError, parseWith } from '@lucid/gateway-core';
import { describe, expect, it } from 'vitest';
import { authConfigSchema } from './schema.js';

const SECRET = 'x'.repeat(32);
const base = { issuer: 'lucid-auth', audience: 'lucid-api' };
const parse = (input: unknown) => parseWith(authConfigSchema, input);
const issues = (input: unknown): string[] => {
  try {
    parse(input);
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return (err as ConfigError).issues.map((i) => `${i.path}: ${i.message}`);
  }
  throw new Error('expected the config to be refused');
};

const pem = (type: 'rsa' | 'ec' | 'ed25519', opts: Record<string, unknown> = {}): string => {
  const { publicKey } = generateKeyPairSync(
    type as 'rsa',
    { modulusLength: 2048, ...opts } as never,
  ) as unknown as {
    publicKey: KeyObject;
  };
  return publicKey.export({ type: 'spki', format: 'pem' }) as string;
};

describe('authConfigSchema', () => {
  it('fills defaults for a shared secret: HS256 only, 30s tolerance, 8 KiB tokens, the usual headers', () => {
    const cfg = parse({ jwt: { secret: SECRET, ...base } });
    expect(cfg.jwt).toMatchObject({ algorithms: ['HS256'], clockTolerance: 30_000, maxTokenSize: 8192 });
    expect(cfg.tierClaim).toBe('tier');
    expect(cfg.forward).toEqual({ 'x-user-id': 'sub', 'x-user-tier': 'tier', 'x-user-scopes': 'scope' });
    expect(cfg.cache).toEqual({ max: 10_000, ttl: 300_000 });
  });

  it('forwards the configured tier claim by default', () => {
    expect(parse({ jwt: { secret: SECRET, ...base }, tierClaim: 'plan' }).forward['x-user-tier']).toBe(
      'plan',
    );
  });

  it('reads units for durations and sizes', () => {
    const cfg = parse({
      jwt: { secret: SECRET, ...base, clockTolerance: '5s', maxTokenAge: '1h', maxTokenSize: '4kb' },
    });
    expect(cfg.jwt).toMatchObject({ clockTolerance: 5000, maxTokenAge: 3_600_000, maxTokenSize: 4096 });
  });

  it('refuses a config without any key source', () => {
    expect(issues({ jwt: base })).toEqual([
      expect.stringMatching(/^jwt: no key source: set one of "secret"/),
    ]);
  });

  it('refuses two key sources at once', () => {
    expect(issues({ jwt: { ...base, secret: SECRET, jwks: 'https://a.example/jwks' } })).toEqual([
      expect.stringContaining('choose one key source, not "secret" and "jwks"'),
    ]);
  });

  it('refuses an auth section with neither jwt nor apiKeys', () => {
    expect(issues({})).toEqual([expect.stringContaining('configure "jwt"')]);
  });

  it('requires issuer and audience', () => {
    const found = issues({ jwt: { secret: SECRET } });
    expect(found).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^jwt\.issuer: required/),
        expect.stringMatching(/^jwt\.audience: required/),
      ]),
    );
  });

  it('never accepts "none", with a message that says why', () => {
    expect(issues({ jwt: { ...base, secret: SECRET, algorithms: ['none'] } })).toEqual([
      'jwt.algorithms[0]: "none" is never accepted: tokens must be signed',
    ]);
  });

  it('refuses an asymmetric algorithm with a shared secret', () => {
    expect(issues({ jwt: { ...base, secret: SECRET, algorithms: ['RS256'] } })).toEqual([
      'jwt.algorithms: RS256 cannot be verified with a shared secret (allowed: HS256, HS384, HS512)',
    ]);
  });

  it('refuses HS algorithms with a public key or a JWKS (no key confusion)', () => {
    expect(issues({ jwt: { ...base, publicKey: pem('rsa'), algorithms: ['HS256'] } })).toEqual([
      expect.stringMatching(/^jwt\.algorithms: HS256 cannot be verified with an RSA key/),
    ]);
    expect(
      issues({ jwt: { ...base, jwks: 'https://a.example/jwks', algorithms: ['RS256', 'HS256'] } }),
    ).toEqual([expect.stringMatching(/^jwt\.algorithms: HS256 cannot be verified with a JWKS/)]);
  });

  it('refuses a secret shorter than the hash (RFC 7518 §3.2)', () => {
    expect(issues({ jwt: { ...base, secret: 'short' } })).toEqual([
      expect.stringMatching(/^jwt\.secret: too short for HS256: 5 bytes, at least 32 needed/),
    ]);
    expect(issues({ jwt: { ...base, secret: SECRET, algorithms: ['HS512'] } })).toEqual([
      expect.stringContaining('at least 64 needed'),
    ]);
  });

  it('derives the algorithm from the key: RS256 for RSA, ES384 for P-384, EdDSA for Ed25519', () => {
    expect(parse({ jwt: { ...base, publicKey: pem('rsa') } }).jwt?.algorithms).toEqual(['RS256']);
    expect(
      parse({ jwt: { ...base, publicKey: pem('ec', { namedCurve: 'P-384' }) } }).jwt?.algorithms,
    ).toEqual(['ES384']);
    expect(parse({ jwt: { ...base, publicKey: pem('ed25519') } }).jwt?.algorithms).toEqual([
      'EdDSA',
      'Ed25519',
    ]);
    expect(parse({ jwt: { ...base, publicKey: pem('rsa'), algorithms: ['PS256'] } }).jwt?.algorithms).toEqual(
      ['PS256'],
    );
  });

  it('refuses an algorithm of the wrong curve', () => {
    expect(
      issues({ jwt: { ...base, publicKey: pem('ec', { namedCurve: 'P-256' }), algorithms: ['ES384'] } }),
    ).toEqual(['jwt.algorithms: ES384 cannot be verified with a prime256v1 EC key (allowed: ES256)']);
  });

  it('accepts a PEM whose line breaks arrived as literal \\n (from an environment variable)', () => {
    const flat = pem('rsa').trim().replace(/\n/g, '\\n');
    expect(parse({ jwt: { ...base, publicKey: flat } }).jwt?.algorithms).toEqual(['RS256']);
  });

  it('refuses a private key, a garbage PEM and a short RSA key', () => {
    const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const priv = privateKey.export({ type: 'pkcs8', format: 'pem' }) as string;
    expect(issues({ jwt: { ...base, publicKey: priv } })).toEqual([
      expect.stringContaining('this is a private key'),
    ]);
    expect(issues({ jwt: { ...base, publicKey: 'not a key' } })).toEqual([
      expect.stringContaining('expected a PEM'),
    ]);
    expect(issues({ jwt: { ...base, publicKey: pem('rsa', { modulusLength: 1024 }) } })).toEqual([
      expect.stringContaining('at least 2048 bits'),
    ]);
  });

  it('takes a public JWK, bound to its own "alg" when it names one', () => {
    const { publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const jwk = publicKey.export({ format: 'jwk' });
    expect(parse({ jwt: { ...base, publicKey: { ...jwk, alg: 'PS384' } } }).jwt?.algorithms).toEqual([
      'PS384',
    ]);
    expect(issues({ jwt: { ...base, publicKey: { ...jwk, alg: 'PS384' }, algorithms: ['RS256'] } })).toEqual([
      expect.stringContaining('RS256 cannot be verified'),
    ]);
    expect(issues({ jwt: { ...base, publicKey: { kty: 'oct', k: 'abc' } } })).toEqual([
      expect.stringContaining('belongs under "secret"'),
    ]);
  });

  it('takes a JWKS as a URL or an object, RS256 by default', () => {
    const short = parse({ jwt: { ...base, jwks: 'https://auth.example/jwks.json' } }).jwt;
    expect(short).toMatchObject({
      algorithms: ['RS256'],
      jwks: { uri: 'https://auth.example/jwks.json', cooldown: 30_000, timeout: 5_000, cacheMaxAge: 600_000 },
    });
    const long = parse({
      jwt: {
        ...base,
        jwks: { uri: 'https://auth.example/jwks.json', cooldown: '1m', timeout: '2s' },
        algorithms: ['ES256'],
      },
    }).jwt;
    expect(long?.jwks).toMatchObject({ cooldown: 60_000, timeout: 2000, cacheMaxAge: 600_000 });
    expect(issues({ jwt: { ...base, jwks: 'ftp://auth.example/jwks.json' } })[0]).toContain('jwt.jwks');
  });

  it('validates API keys: digests, unique ids, a tier each', () => {
    const key = { id: 'billing', sha256: 'A'.repeat(64), tier: 'enterprise' };
    const cfg = parse({ apiKeys: { keys: [key] } });
    expect(cfg.apiKeys).toEqual({
      header: 'x-api-key',
      keys: [{ ...key, sha256: 'a'.repeat(64), scopes: [] }],
    });
    expect(issues({ apiKeys: { keys: [{ ...key, sha256: 'abc' }] } })).toEqual([
      expect.stringContaining('64 hex digits'),
    ]);
    expect(issues({ apiKeys: { keys: [key, { ...key, sha256: 'b'.repeat(64) }] } })).toEqual([
      'apiKeys.keys[1].id: duplicate id "billing"',
    ]);
    expect(issues({ apiKeys: { keys: [{ id: 'x', sha256: 'a'.repeat(64) }] } })[0]).toMatch(
      /^apiKeys\.keys\[0\]\.tier: required/,
    );
  });

  it('refuses forwarding into headers the gateway or HTTP relies on', () => {
    expect(issues({ jwt: { ...base, secret: SECRET }, forward: { Authorization: 'sub' } })).toEqual([
      expect.stringContaining('reserved'),
    ]);
    expect(issues({ jwt: { ...base, secret: SECRET }, forward: { 'bad header': 'sub' } })).toEqual([
      expect.stringContaining('not a valid header name'),
    ]);
  });

  it('names unknown keys with a suggestion', () => {
    expect(issues({ jwt: { ...base, secret: SECRET, audiance: 'x' } })).toEqual([
      'jwt.audiance: unknown key (did you mean "audience"?)',
    ]);
  });
});
