// Stand-in for lucid-node-management: the fleet of nodes and their state.

import { json, router, via } from './http.mjs';
import { OPENAPI } from './openapi.mjs';

const NODES = [
  { id: 'node-1', region: 'eu-west', status: 'online', version: '1.4.2' },
  { id: 'node-2', region: 'eu-west', status: 'online', version: '1.4.2' },
  { id: 'node-3', region: 'us-east', status: 'syncing', version: '1.4.1' },
  { id: 'pi-kitchen', region: 'home', status: 'online', version: '1.4.2' },
];

/** @example listen(nodesService()) */
export function nodesService() {
  return router(
    'lucid-node-management',
    {
      'GET /': (req, res) => json(res, 200, { nodes: NODES, via: via(req) }),
      'GET /:id': (req, res, { id }) => {
        const node = NODES.find((n) => n.id === id);
        if (!node) return json(res, 404, { error: 'no_such_node', id });
        json(res, 200, { node, via: via(req) });
      },
    },
    OPENAPI.nodes,
  );
}
