// An existing node:http app that serves its own pages and hands /api/* to Lucid Gateway.
import { createServer } from 'node:http';
import { createGateway } from '@lucid/gateway-core';

const upstream = process.env.UPSTREAM_URL ?? 'http://127.0.0.1:8089';

const gateway = createGateway({
  logging: { level: process.env.LOG_LEVEL ?? 'info', pretty: false },
  builtins: { root: false }, // this app owns "/"
  services: { auth: { targets: [upstream] } },
  routes: [{ prefix: '/api/auth', service: 'auth', auth: 'public' }],
});

// Node checks header and request timeouts every 30 s by default; once a second holds slow clients to them.
const server = createServer({ connectionsCheckingInterval: 1_000 }, (req, res) => {
  if (req.url === '/' || req.url === '/about') {
    res.writeHead(200, { 'content-type': 'text/plain' });
    res.end('my app\n');
    return;
  }
  // Everything else, including /health and /metrics, is the gateway's.
  gateway.handler(req, res);
});
server.on('upgrade', gateway.upgrade);
// Expect: 100-continue goes to the gateway too, so auth and limits answer before a body is invited.
server.on('checkContinue', (req, res) => server.emit('request', req, res));
// Node's header timeout starts with a request's first byte: the guard also closes sockets that never
// send one, and caps open connections at server.limits.connections.
gateway.guard(server);

await gateway.start();
server.listen(Number(process.env.PORT ?? 3000), process.env.HOST ?? '127.0.0.1', () => {
  const { port } = server.address();
  console.log(JSON.stringify({ msg: 'embedded app listening', port }));
});

const shutdown = async () => {
  server.close();
  await gateway.close({ graceMs: 5_000 });
  process.exit(0);
};
process.once('SIGTERM', shutdown);
process.once('SIGINT', shutdown);
