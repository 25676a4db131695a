import { createHmac } from 'node:crypto';
import { send } from '@lucid/test-kit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Stack, startStack } from './support/stack.js';
import { AUDIENCE, ISSUER, SECRET } from './support/token.js';

/**
 * Signed tokens whose dates are not finite NumericDates (RFC 7519 §2). The payload is written as
 * JSON text, since `JSON.stringify` cannot write `1e309` (which parses back as Infinity).
 */

const b64url = (s: string) => Buffer.from(s).toString('base64url');

function hs256Raw(payloadJson: string): string {
  const body = `${b64url('{"alg":"HS256","typ":"JWT"}')}.${b64url(payloadJson)}`;
  return `${body}.${createHmac('sha256', SECRET).update(body).digest('base64url')}`;
}

const claims = (dates: string) =>
  `{"iss":"${ISSUER}","aud":"${AUDIENCE}","sub":"mallory","scope":"admin",${dates}}`;

let stack: Stack;
beforeAll(async () => {
  stack = await startStack();
});
afterAll(async () => {
  await stack?.close();
});

describe('JWT NumericDates that are not finite', () => {
  const now = Math.floor(Date.now() / 1000);
  it.each([
    `"exp":1e309`,
    `"exp":1E400,"iat":${now}`,
    `"exp":${now + 60},"nbf":-1e309`,
    `"exp":${now + 60},"iat":1e309`,
    `"exp":${now + 60},"iat":-1e309`,
    `"exp":1e300`,
    `"exp":"${now + 60}"`,
    `"exp":[${now + 60}]`,
    `"exp":null`,
    `"exp":true`,
    `"exp":${now + 60},"iat":${now + 86_400}`,
  ])('a token with %s is 401 invalid_token and reaches nothing, however often it is sent', async (dates) => {
    const token = hs256Raw(claims(dates));
    const before = stack.upstream.seen.length;
    for (let i = 0; i < 3; i++) {
      for (const path of ['/api/x', '/admin/x']) {
        const res = await send(`${stack.url}${path}`, {
          headers: { host: 'api.lucid.dev', authorization: `Bearer ${token}` },
        });
        expect(res.status).toBe(401);
        expect(res.headers['www-authenticate']).toContain('error="invalid_token"');
      }
    }
    expect(stack.upstream.seen.length).toBe(before);
  });

  it('the same token with a finite exp is accepted (the signer and stack are sound)', async () => {
    const res = await send(`${stack.url}/admin/x`, {
      headers: { host: 'api.lucid.dev', authorization: `Bearer ${hs256Raw(claims(`"exp":${now + 60}.5`))}` },
    });
    expect(res.status).toBe(200);
  });
});
