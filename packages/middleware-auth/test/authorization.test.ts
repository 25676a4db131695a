import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AUDIENCE, ISSUER, SECRET, secretBytes, sign } from './helpers/keys.js';
import { type AuthStack, bearer, startAuthStack } from './helpers/stack.js';

let stack: AuthStack;
beforeAll(async () => {
  stack = await startAuthStack({ jwt: { secret: SECRET, issuer: ISSUER, audience: AUDIENCE } });
});
afterAll(() => stack.close());

const tokenWith = (claims: Record<string, unknown>) => sign(secretBytes(), 'HS256', { claims });

describe('per-route scopes and claims', () => {
  it('a valid token without the route scope is a 403 insufficient_scope naming the needed scopes', async () => {
    const before = stack.proxied().length;
    const res = await stack.get('/reports/q1', bearer(await tokenWith({ scope: 'read' })));
    expect(res.status).toBe(403);
    expect(res.json()).toMatchObject({ code: 'GW_FORBIDDEN', detail: 'missing scope "reports"' });
    expect(res.headers['www-authenticate']).toBe(
      `Bearer realm="lucid-api-gateway", error="insufficient_scope", error_description="missing scope 'reports'", scope="read reports"`,
    );
    expect(stack.proxied().length).toBe(before);
  });

  it('passes with every required scope, from scope or from scp', async () => {
    expect(
      (await stack.get('/reports/q1', bearer(await tokenWith({ scope: 'reports read extra' })))).status,
    ).toBe(200);
    expect(
      (await stack.get('/admin/users', bearer(await tokenWith({ scope: undefined, scp: ['admin'] })))).status,
    ).toBe(200);
  });

  it('an invalid token on a scoped route is still a 401, not a 403', async () => {
    expect((await stack.get('/admin/users', bearer('x.y.z'))).status).toBe(401);
  });

  it('claim matchers: one of the listed values, else 403', async () => {
    expect((await stack.get('/ops/deploy', bearer(await tokenWith({ role: 'sre' })))).status).toBe(200);
    expect((await stack.get('/ops/deploy', bearer(await tokenWith({ role: ['user', 'ops'] })))).status).toBe(
      200,
    );
    const res = await stack.get('/ops/deploy', bearer(await tokenWith({ role: 'user' })));
    expect(res.status).toBe(403);
    expect(res.json()).toMatchObject({ detail: 'claim "role" does not allow this route' });
  });

  it('sets ctx.state.identity: sub, tier (for the rate limiter), scopes and frozen claims', async () => {
    // Observed through a user plugin that runs after auth and reports what it found.
    const seen: Array<{ user: unknown; tier: unknown; identity: unknown }> = [];
    const probe = await startAuthStack(
      { jwt: { secret: SECRET, issuer: ISSUER, audience: AUDIENCE }, tierClaim: 'plan' },
      {
        extraPlugins: [
          {
            name: 'probe',
            middleware: () =>
              async function probe(ctx, next) {
                seen.push({
                  user: ctx.state.identity?.claims,
                  tier: ctx.state.identity?.tier,
                  identity: ctx.state.identity,
                });
                await next();
              },
          },
        ],
      },
    );
    try {
      await probe.get('/api/x', bearer(await tokenWith({ sub: 'u-1', plan: 'enterprise', tier: 'free' })));
      await probe.get('/public/x', bearer(await tokenWith({ sub: 'u-2', plan: 'enterprise' })));
      expect(seen[0]).toMatchObject({ user: { sub: 'u-1', plan: 'enterprise' }, tier: 'enterprise' });
      expect(seen[0]!.identity).toMatchObject({ sub: 'u-1', tier: 'enterprise' });
      expect((seen[0]!.identity as { scopes: unknown }).scopes).toBeInstanceOf(Set);
      expect(Object.isFrozen(seen[0]!.user)).toBe(true);
      // A public route never trusts a token for identity.
      expect(seen[1]).toEqual({ user: undefined, tier: undefined, identity: undefined });
      expect(probe.proxied()[0]!.headers['x-user-tier']).toBe('enterprise');
    } finally {
      await probe.close();
    }
  });
});
