// HTTP/2 to the upstream against HTTP/1.1 to the upstream, through the same gateway: the same
// answer (1 KiB) from an h2c server and a node:http server, loaded by autocannon over HTTP/1.1.
//
//   pnpm -s build && node bench/h2-upstream.mjs      (BENCH_SECONDS=10, BENCH_CONNECTIONS=64)
import { createServer } from 'node:http';
import { createServer as createH2cServer } from 'node:http2';
import { createGateway } from '@lucid/gateway-core';
import autocannon from 'autocannon';

const SECONDS = Number(process.env.BENCH_SECONDS ?? 10);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 64);
const body = Buffer.alloc(1024, 'x');

const listen = (server) =>
  new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server.address().port)));

const h1 = createServer((_req, res) => {
  res.writeHead(200, { 'content-type': 'text/plain', 'content-length': body.length });
  res.end(body);
});
const h2 = createH2cServer();
let sessions = 0;
h2.on('session', () => sessions++);
h2.on('stream', (stream) => {
  stream.respond({ ':status': 200, 'content-type': 'text/plain', 'content-length': body.length });
  stream.end(body);
});
const [p1, p2] = [await listen(h1), await listen(h2)];

const gateway = createGateway(
  {
    logging: { level: 'silent', pretty: false, accessLog: false },
    services: {
      h1: { targets: [`http://127.0.0.1:${p1}`], health: false },
      h2: { targets: [`h2c://127.0.0.1:${p2}`], health: false },
    },
    routes: [
      { prefix: '/h1', service: 'h1', auth: 'public' },
      { prefix: '/h2', service: 'h2', auth: 'public' },
    ],
  },
  {},
);
const { port } = await gateway.listen({ port: 0, host: '127.0.0.1' });

async function load(path) {
  const r = await autocannon({
    url: `http://127.0.0.1:${port}${path}`,
    connections: CONNECTIONS,
    duration: SECONDS,
  });
  return { rps: Math.round(r.requests.average), p99: r.latency.p99, errors: r.errors + r.non2xx };
}

const results = {};
// Interleaved, twice each, so a noisy neighbour hurts both alike.
for (const round of [1, 2]) {
  for (const name of ['h1', 'h2']) results[`${name}#${round}`] = await load(`/${name}/x`);
}
const median = (name) => (results[`${name}#1`].rps + results[`${name}#2`].rps) / 2;
console.log(
  JSON.stringify(
    { results, h2cSessions: sessions, ratio: +(median('h2') / median('h1')).toFixed(2) },
    null,
    2,
  ),
);
await gateway.close({ graceMs: 1_000 });
h1.close();
h2.close();
