// The five stand-in services, by the names the gateway config gives them.
import { adminService } from './admin.mjs';
import { authService } from './auth.mjs';
import { blockchainService } from './blockchain.mjs';
import { listen } from './http.mjs';
import { nodesService } from './nodes.mjs';
import { sessionsService } from './sessions.mjs';

/** name -> the real Lucid service it stands in for, its usual port, and its handler factory. */
export const SERVICES = {
  auth: { host: 'lucid-auth-service', port: 8089, create: (opts) => authService(opts) },
  blockchain: { host: 'lucid-blockchain-engine', port: 8084, create: () => blockchainService() },
  sessions: { host: 'lucid-session-api', port: 8087, create: () => sessionsService() },
  nodes: { host: 'lucid-node-management', port: 8096, create: () => nodesService() },
  admin: { host: 'lucid-admin-interface', port: 8083, create: () => adminService() },
};

/**
 * Starts all five on `host`, each on its own free port (or on its usual one with `usualPorts`).
 * Resolves `{ name: { url, port, close } }`; closes whatever started if one fails.
 *
 * @example const running = await startServices({ secret: process.env.JWT_SECRET_KEY })
 */
export async function startServices({ secret, host = '127.0.0.1', usualPorts = false }) {
  const running = {};
  try {
    for (const [name, svc] of Object.entries(SERVICES)) {
      running[name] = await listen(svc.create({ secret }), { host, port: usualPorts ? svc.port : 0 });
    }
  } catch (err) {
    await Promise.all(Object.values(running).map((s) => s.close()));
    throw err;
  }
  return running;
}
