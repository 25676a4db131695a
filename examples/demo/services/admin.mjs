// Stand-in for lucid-admin-interface: numbers for operators (the gateway lets only the admin scope in).

import { json, router, via } from './http.mjs';
import { OPENAPI } from './openapi.mjs';

/** @example listen(adminService()) */
export function adminService({ startedAt = Date.now() } = {}) {
  let served = 0;
  return router(
    'lucid-admin-interface',
    {
      'GET /stats': (req, res) => {
        served++;
        json(res, 200, {
          uptimeSeconds: Math.round((Date.now() - startedAt) / 1000),
          nodes: { online: 3, syncing: 1 },
          statsServed: served,
          via: via(req),
        });
      },
    },
    OPENAPI.admin,
  );
}
