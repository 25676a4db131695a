// Stand-in for lucid-auth-service: POST /login trades a demo user's password for a signed token.
import { timingSafeEqual } from 'node:crypto';
import { json, readJson, router } from './http.mjs';
import { signHs256 } from './jwt.mjs';
import { OPENAPI } from './openapi.mjs';

/** The demo's users: alice is an ordinary user, admin may use /admin. */
export const DEMO_USERS = {
  alice: {
    password: 'alice',
    sub: 'user-alice',
    tier: 'free',
    scope: 'blockchain:read sessions:write nodes:read',
  },
  admin: { password: 'admin', sub: 'user-admin', tier: 'premium', scope: 'admin blockchain:read nodes:read' },
};

const same = (a, b) => {
  const x = Buffer.from(String(a));
  const y = Buffer.from(String(b));
  return x.length === y.length && timingSafeEqual(x, y);
};

/**
 * @example listen(authService({ secret, issuer: 'lucid-auth', audience: 'lucid-api' }))
 */
export function authService({ secret, issuer = 'lucid-auth', audience = 'lucid-api', ttlSeconds = 3600 }) {
  return router(
    'lucid-auth-service',
    {
      'POST /login': async (req, res) => {
        const body = await readJson(req);
        if (typeof body?.username !== 'string' || typeof body?.password !== 'string') {
          return json(res, 400, {
            error: 'invalid_request',
            detail: 'send {"username": ..., "password": ...} as JSON',
          });
        }
        const user = Object.hasOwn(DEMO_USERS, body.username) ? DEMO_USERS[body.username] : undefined;
        if (!user || !same(user.password, body.password)) {
          return json(res, 401, { error: 'invalid_credentials' });
        }
        const claims = { sub: user.sub, iss: issuer, aud: audience, tier: user.tier, scope: user.scope };
        json(res, 200, {
          access_token: signHs256(claims, secret, ttlSeconds),
          token_type: 'Bearer',
          expires_in: ttlSeconds,
          scope: user.scope,
        });
      },
    },
    OPENAPI.auth,
  );
}
