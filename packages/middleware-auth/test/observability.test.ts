import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AUDIENCE, ISSUER, SECRET, secretBytes, sign } from './helpers/keys.js';
import { type AuthStack, bearer, startAuthStack } from './helpers/stack.js';

let stack: AuthStack;
beforeAll(async () => {
  stack = await startAuthStack(
    { jwt: { secret: SECRET, issuer: ISSUER, audience: AUDIENCE } },
    { builtins: { metrics: { auth: 'required', scopes: ['ops'] } } },
  );
});
afterAll(() => stack.close());

const failures = (text: string) =>
  Object.fromEntries(
    [...text.matchAll(/^lucid_gateway_auth_failures_total\{reason="([a-z_]+)"\} (\d+)$/gm)].map((m) => [
      m[1],
      Number(m[2]),
    ]),
  );

describe('auth on built-in routes, and its metric', () => {
  it('a built-in route can require a token and a scope like any other', async () => {
    expect((await stack.get('/metrics')).status).toBe(401);
    expect((await stack.get('/metrics', bearer(await sign(secretBytes(), 'HS256')))).status).toBe(403);
    const ok = await stack.get(
      '/metrics',
      bearer(await sign(secretBytes(), 'HS256', { claims: { scope: 'ops' } })),
    );
    expect(ok.status).toBe(200);
  });

  it('counts failures by reason in lucid_gateway_auth_failures_total', async () => {
    const ops = bearer(await sign(secretBytes(), 'HS256', { claims: { scope: 'ops' } }));
    const before = failures((await stack.get('/metrics', ops)).text);
    expect(before.expired).toBe(0);

    await stack.get('/api/x', bearer(await sign(secretBytes(), 'HS256', { expiresIn: -300 })));
    await stack.get(
      '/api/x',
      bearer(await sign(secretBytes(), 'HS256', { expiresIn: -300, claims: { n: 2 } })),
    );
    await stack.get('/api/x');
    await stack.get('/admin/x', bearer(await sign(secretBytes(), 'HS256')));

    const after = failures((await stack.get('/metrics', ops)).text);
    expect(after.expired! - before.expired!).toBe(2);
    expect(after.missing! - before.missing!).toBe(1);
    expect(after.insufficient_scope! - before.insufficient_scope!).toBe(1);
    expect(after.bad_signature).toBe(before.bad_signature);
  });

  it('reports its state under /health', async () => {
    const health = (await stack.get('/health')).json<{ components: Record<string, unknown> }>();
    expect(health.components.auth).toMatchObject({ healthy: true, detail: { keySource: 'secret' } });
  });
});
