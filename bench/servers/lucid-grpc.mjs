// Lucid Gateway in front of the gRPC bench upstream: h2c on the plain port, access log and metrics on.
import { createGateway } from '@lucid/gateway-core';

const gateway = createGateway({
  logging: { level: 'info', pretty: false, accessLog: true },
  services: { echo: { targets: [`h2c://127.0.0.1:${process.env.UPSTREAM_PORT}`], health: false } },
  routes: [{ prefix: '/bench.Echo', service: 'echo', auth: 'public', stripPrefix: false }],
});
await gateway.listen({ port: Number(process.env.PORT), host: '127.0.0.1' });
console.error('ready');
for (const signal of ['SIGTERM', 'SIGINT']) {
  process.once(signal, () => gateway.close({ graceMs: 1_000 }).then(() => process.exit(0)));
}
