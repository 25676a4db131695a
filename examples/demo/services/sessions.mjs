// Stand-in for lucid-session-api: each caller's sessions, keyed by the identity the gateway verified.
import { randomUUID } from 'node:crypto';
import { json, readJson, router, via } from './http.mjs';
import { OPENAPI } from './openapi.mjs';

/** @example listen(sessionsService()) */
export function sessionsService() {
  const byUser = new Map();
  const mine = (req) => {
    const user = req.headers['x-user-id'];
    if (!byUser.has(user)) byUser.set(user, []);
    return byUser.get(user);
  };
  return router(
    'lucid-session-api',
    {
      'GET /': (req, res) => json(res, 200, { sessions: mine(req), via: via(req) }),
      'POST /': async (req, res) => {
        const body = (await readJson(req)) ?? {};
        const session = {
          id: randomUUID(),
          name: typeof body.name === 'string' ? body.name.slice(0, 100) : 'untitled',
          createdAt: new Date().toISOString(),
        };
        mine(req).push(session);
        json(res, 201, { session, via: via(req) }, { location: `/sessions/${session.id}` });
      },
      'GET /:id': (req, res, { id }) => {
        const session = mine(req).find((s) => s.id === id);
        if (!session) return json(res, 404, { error: 'no_such_session', id });
        json(res, 200, { session, via: via(req) });
      },
    },
    OPENAPI.sessions,
  );
}
