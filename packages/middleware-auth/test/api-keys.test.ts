import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hashApiKey } from '../src/index.js';
import { AUDIENCE, ISSUER, SECRET, secretBytes, sign } from './helpers/keys.js';
import { type AuthStack, bearer, startAuthStack } from './helpers/stack.js';

const BILLING_KEY = 'lk_live_billing_7f3a9c';
const REPORTER_KEY = 'lk_live_reporter_1b2c';

let stack: AuthStack;
beforeAll(async () => {
  stack = await startAuthStack({
    jwt: { secret: SECRET, issuer: ISSUER, audience: AUDIENCE },
    apiKeys: {
      keys: [
        { id: 'billing-bot', sha256: hashApiKey(BILLING_KEY), tier: 'enterprise', scopes: ['admin'] },
        { id: 'reporter', sha256: hashApiKey(REPORTER_KEY), tier: 'free', sub: 'svc-reporter' },
      ],
    },
  });
});
afterAll(() => stack.close());

describe('API keys for machine clients', () => {
  it('a configured key authenticates with its tier and scopes; the key itself is not forwarded', async () => {
    const res = await stack.get('/admin/invoices', { 'x-api-key': BILLING_KEY, 'x-user-id': 'forged' });
    expect(res.status).toBe(200);
    const seen = stack.proxied().at(-1)!;
    expect(seen.headers['x-user-id']).toBe('billing-bot');
    expect(seen.headers['x-user-tier']).toBe('enterprise');
    expect(seen.headers['x-user-scopes']).toBe('admin');
    expect(seen.headers['x-api-key']).toBeUndefined();
  });

  it('a key without a scope is refused on a scoped route (403), and its sub is used when given', async () => {
    expect((await stack.get('/admin/invoices', { 'x-api-key': REPORTER_KEY })).status).toBe(403);
    expect((await stack.get('/api/report', { 'x-api-key': REPORTER_KEY })).status).toBe(200);
    expect(stack.proxied().at(-1)!.headers['x-user-id']).toBe('svc-reporter');
  });

  it('an unknown key is a 401 and never reaches the upstream', async () => {
    const before = stack.proxied().length;
    const res = await stack.get('/api/report', { 'x-api-key': `${BILLING_KEY}x` });
    expect(res.status).toBe(401);
    expect(res.json()).toMatchObject({ detail: 'invalid API key' });
    expect(res.text).not.toContain(BILLING_KEY);
    expect(stack.proxied().length).toBe(before);
  });

  it('a bearer token, when sent, is what counts', async () => {
    const token = await sign(secretBytes(), 'HS256', { claims: { sub: 'person' } });
    expect((await stack.get('/api/x', { ...bearer(token), 'x-api-key': BILLING_KEY })).status).toBe(200);
    expect(stack.proxied().at(-1)!.headers['x-user-id']).toBe('person');
    expect((await stack.get('/api/x', { ...bearer('x.y.z'), 'x-api-key': BILLING_KEY })).status).toBe(401);
  });
});
