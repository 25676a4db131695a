import { type JwksServer, startJwksServer } from '@lucid/test-kit';
import type { JWK } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AUDIENCE, ISSUER, SECRET, secretBytes, signRaw, type TestKey, testKey } from './helpers/keys.js';
import { type AuthStack, bearer, startAuthStack } from './helpers/stack.js';

/**
 * NumericDates (RFC 7519 §2) and other decision claims of the wrong type, in tokens with valid
 * signatures, through a running gateway: HS256 with a secret, ES256 with a PEM key, and RS256 from
 * a JWKS served over HTTP. A refused token never reaches the upstream and never enters the cache.
 */

let es: TestKey;
let rs: TestKey;
let jwks: JwksServer;
const stacks: Record<string, { stack: AuthStack; sign: (payload: string) => Promise<string> }> = {};

beforeAll(async () => {
  es = await testKey('ES256', 'es');
  rs = await testKey('RS256', 'rs');
  jwks = await startJwksServer([rs.jwk as JWK]);
  const base = { issuer: ISSUER, audience: AUDIENCE };
  stacks.HS256 = {
    stack: await startAuthStack({ jwt: { ...base, secret: SECRET } }),
    sign: (p) => signRaw(secretBytes(), 'HS256', p),
  };
  stacks['ES256 (PEM)'] = {
    stack: await startAuthStack({ jwt: { ...base, publicKey: es.pem, algorithms: ['ES256'] } }),
    sign: (p) => signRaw(es.privateKey, 'ES256', p, 'es'),
  };
  stacks['RS256 (JWKS over HTTP)'] = {
    stack: await startAuthStack({ jwt: { ...base, jwks: jwks.url, algorithms: ['RS256'] } }),
    sign: (p) => signRaw(rs.privateKey, 'RS256', p, 'rs'),
  };
});

afterAll(async () => {
  await Promise.all(Object.values(stacks).map((s) => s.stack.close()));
  await jwks.close();
});

const now = () => Math.floor(Date.now() / 1000);

/** The JSON text of a payload: valid registered claims, with `fields` (raw JSON values) replacing or adding. */
function payload(fields: Record<string, string>): string {
  const t = now();
  const all: Record<string, string> = {
    iss: JSON.stringify(ISSUER),
    aud: JSON.stringify(AUDIENCE),
    sub: '"user-1"',
    iat: String(t),
    exp: String(t + 300),
    ...fields,
  };
  return `{${Object.entries(all)
    .filter(([, v]) => v !== '')
    .map(([k, v]) => `"${k}":${v}`)
    .join(',')}}`;
}

/** Raw JSON values that are not a finite NumericDate (the first two parse to ±Infinity). */
const NOT_NUMERIC_DATES = [
  '1e309',
  '-1e309',
  '1e300', // finite, but no date: beyond ±8.64e12 s
  '8.7e12',
  '9007199254740993',
  '"1700000000"',
  '"tomorrow"',
  'true',
  'false',
  'null',
  '[1700000000]',
  '{"t":1700000000}',
];

const REFUSED: Array<[string, Record<string, string>]> = [
  ...NOT_NUMERIC_DATES.map((v): [string, Record<string, string>] => [`exp: ${v}`, { exp: v }]),
  ...NOT_NUMERIC_DATES.map((v): [string, Record<string, string>] => [`nbf: ${v}`, { nbf: v }]),
  ...NOT_NUMERIC_DATES.map((v): [string, Record<string, string>] => [`iat: ${v}`, { iat: v }]),
  ['exp: -1 (a valid number, long past)', { exp: '-1' }],
  ['exp: 0', { exp: '0' }],
  ['exp: -8.64e12', { exp: '-8.64e12' }],
  ['iat an hour in the future', { iat: String(now() + 3600) }],
  ['sub: an array', { sub: '["user-1","admin"]' }],
  ['sub: an object', { sub: '{"id":"admin"}' }],
  ['sub: a number', { sub: '42' }],
  ['sub: null', { sub: 'null' }],
];

const ACCEPTED: Array<[string, Record<string, string>]> = [
  ['a fractional exp', { exp: `${now() + 300}.75` }],
  ['exp in exponent form', { exp: `${(now() + 300) / 100}e2` }],
  ['exp far off but still a date (year ~33000)', { exp: '1e12' }],
  ['a negative nbf (1969)', { nbf: '-100' }],
  ['a fractional nbf and iat', { nbf: `${now() - 5}.5`, iat: `${now() - 5}.25` }],
  ['iat slightly ahead, inside the clock tolerance', { iat: String(now() + 10) }],
  ['no iat at all', { iat: '' }],
];

describe.each(['HS256', 'ES256 (PEM)', 'RS256 (JWKS over HTTP)'])(
  'NumericDates and claim types (%s)',
  (name) => {
    const cached = async () => {
      const health = await stacks[name]!.stack.plugin.health!();
      return (health.detail as { cachedTokens: number }).cachedTokens;
    };

    it.each(REFUSED)('%s: 401 invalid_token, not forwarded, not cached, every time', async (_, fields) => {
      const { stack, sign } = stacks[name]!;
      const token = await sign(payload(fields));
      const before = stack.proxied().length;
      const cachedBefore = await cached();
      for (let i = 0; i < 2; i++) {
        const res = await stack.get('/api/data', bearer(token));
        expect(res.status).toBe(401);
        expect(res.json()).toMatchObject({ code: 'GW_UNAUTHORIZED' });
        expect(res.headers['www-authenticate']).toContain('error="invalid_token"');
      }
      expect(stack.proxied().length).toBe(before);
      expect(await cached()).toBe(cachedBefore);
    });

    it.each(ACCEPTED)('%s: accepted and forwarded', async (_, fields) => {
      const { stack, sign } = stacks[name]!;
      const res = await stack.get('/api/data', bearer(await sign(payload(fields))));
      expect(res.status).toBe(200);
      expect(stack.proxied().at(-1)!.headers['x-user-id']).toBe('user-1');
    });
  },
);

describe('claims the gateway decides by, in the wrong shape', () => {
  it('a tier that is an array or object means the default tier, and x-user-tier carries nothing', async () => {
    const { stack, sign } = stacks.HS256!;
    for (const tier of ['["enterprise"]', '{"name":"enterprise"}', 'true', '1e309']) {
      const res = await stack.get('/api/data', bearer(await sign(payload({ tier }))));
      expect(res.status).toBe(200);
      expect(stack.proxied().at(-1)!.headers['x-user-tier']).toBeUndefined();
    }
  });

  it('scope items that are not one scope-token grant nothing: ["read admin"] is not admin', async () => {
    const { stack, sign } = stacks.HS256!;
    for (const claim of [
      '"scp":["read admin"]',
      '"scope":"read\\tadmin"',
      '"scope":{"admin":true}',
      '"scp":[["admin"]]',
    ]) {
      const [key, value] = [claim.slice(1, claim.indexOf('"', 1)), claim.slice(claim.indexOf(':') + 1)];
      const res = await stack.get('/admin/x', bearer(await sign(payload({ [key]: value }))));
      expect(res.status).toBe(403);
    }
    const ok = await stack.get('/admin/x', bearer(await sign(payload({ scp: '["read","admin"]' }))));
    expect(ok.status).toBe(200);
    expect(stack.proxied().at(-1)!.headers['x-user-scopes']).toBe('read admin');
  });
});
