// Creates, starts, uses and closes gateways with the auth and rate-limit plugins, one after another,
// in this one process; reports active handles and heap (after a full GC) before and after.
import { request } from 'node:http';
import { createGateway } from '../../../packages/core/dist/index.js';
import { jwtAuth, signDevToken } from '../../../packages/middleware-auth/dist/index.js';
import { rateLimitPlugins } from '../../../packages/middleware-ratelimit/dist/index.js';

const cycles = Number(process.env.LUCID_CHURN_CYCLES ?? 1000);
const secret = 'a-test-secret-that-is-long-enough-for-hs256-0123456789';
const auth = { jwt: { secret, issuer: 'lucid-auth', audience: 'lucid-api' } };
const config = {
  // The gateway makes its own logger (and its flush timer), as the CLI's would.
  logging: { level: 'silent', pretty: false, accessLog: false },
  services: { api: { targets: ['http://127.0.0.1:9'], health: false } },
  routes: [
    { prefix: '/api', service: 'api' },
    { prefix: '/open', service: 'api', auth: 'public' },
  ],
  auth,
  rateLimit: { store: 'memory', tiers: { free: '100/min' }, preAuth: '1000/min' },
};
const token = await signDevToken({ secret, issuer: 'lucid-auth', audience: 'lucid-api', sub: 'churn' });

const get = (port, path, headers = {}) =>
  new Promise((resolve, reject) => {
    request({ host: '127.0.0.1', port, path, headers, agent: false }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode));
    })
      .on('error', reject)
      .end();
  });

const handles = () => {
  const counts = {};
  for (const kind of process.getActiveResourcesInfo()) counts[kind] = (counts[kind] ?? 0) + 1;
  return counts;
};
const heap = () => {
  globalThis.gc();
  globalThis.gc();
  return process.memoryUsage().heapUsed;
};

async function cycle() {
  const gateway = createGateway(config, { plugins: [jwtAuth(auth), ...rateLimitPlugins(config.rateLimit)] });
  const { port } = await gateway.listen({ port: 0, host: '127.0.0.1' });
  // A refused token and a verified one (its upstream is down: 502/503), both through both plugins.
  const statuses = [
    await get(port, '/api/x'),
    await get(port, '/api/x', { authorization: `Bearer ${token}` }),
  ];
  await gateway.close({ graceMs: 1_000 });
  return statuses;
}

// A few cycles first: modules loaded, caches and the error table filled once.
for (let i = 0; i < 20; i++) await cycle();
const before = { handles: handles(), heap: heap() };
let last;
for (let i = 0; i < cycles; i++) last = await cycle();
// Let the last sockets' close events run.
await new Promise((resolve) => setImmediate(resolve));
const after = { handles: handles(), heap: heap() };
process.send({ cycles, before, after, last });
process.disconnect();
