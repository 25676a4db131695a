import type { Env } from './env.js';

/**
 * The config used when no file is found: the five Lucid services at their usual addresses
 * (each overridable by an environment variable), memory rate limiting, no Redis, no Consul.
 * Without JWT_SECRET_KEY only the public routes are served, never the protected ones unguarded.
 */
export function embeddedDefault(env: Env): Record<string, unknown> {
  const secret = env.JWT_SECRET_KEY !== undefined && env.JWT_SECRET_KEY !== '';
  const services = {
    auth: { targets: ['${AUTH_SERVICE_URL:-http://lucid-auth-service:8089}'] },
    blockchain: { targets: ['${BLOCKCHAIN_ENGINE_URL:-http://lucid-blockchain-engine:8084}'] },
    sessions: { targets: ['${SESSION_API_URL:-http://lucid-session-api:8087}'] },
    nodes: { targets: ['${NODE_MANAGEMENT_URL:-http://lucid-node-management:8096}'] },
    admin: { targets: ['${ADMIN_INTERFACE_URL:-http://lucid-admin-interface:8083}'] },
  };
  const publicRoutes = [{ prefix: '/auth', service: 'auth', auth: 'public' }];
  const protectedRoutes = [
    { prefix: '/blockchain', service: 'blockchain' },
    { prefix: '/sessions', service: 'sessions' },
    { prefix: '/nodes', service: 'nodes' },
    { prefix: '/admin', service: 'admin', scopes: ['admin'] },
  ];
  return {
    server: { host: '0.0.0.0', port: 8080 },
    services: secret ? services : { auth: services.auth },
    routes: secret ? [...publicRoutes, ...protectedRoutes] : publicRoutes,
    ...(secret && {
      auth: {
        jwt: {
          secret: '${JWT_SECRET_KEY}',
          algorithms: ['HS256'],
          issuer: '${JWT_ISSUER:-lucid-auth}',
          audience: '${JWT_AUDIENCE:-lucid-api}',
        },
        tierClaim: 'tier',
      },
    }),
    rateLimit: {
      store: 'memory',
      keyBy: 'user',
      tiers: { free: '100/min', premium: '1000/min', enterprise: '10000/min' },
      defaultTier: 'free',
    },
  };
}

/** What the first log lines say about the embedded default. */
export function describeDefault(env: Env): string {
  return env.JWT_SECRET_KEY
    ? 'no config file found: using the embedded default (the five Lucid services, memory rate limiting, no Redis, no Consul)'
    : 'no config file found: using the embedded default with only the public /auth route (set JWT_SECRET_KEY to serve /blockchain, /sessions, /nodes and /admin)';
}
