// Lucid Gateway as users run it: access log and metrics on. BENCH_MODE picks the setup; TRACE_RATIO turns
// tracing on at that sample ratio, exporting to OTLP_URL.
import { createGateway } from '@lucid/gateway-core';

const mode = process.env.BENCH_MODE ?? 'plain';
const withJwt = mode !== 'plain';
const limiter = mode === 'jwt-memory' ? 'memory' : mode === 'jwt-redis' ? 'redis' : undefined;
const auth = {
  jwt: { secret: process.env.JWT_SECRET, algorithms: ['HS256'], issuer: 'lucid-auth', audience: 'lucid-api' },
};
const limits = {
  store: limiter,
  ...(limiter === 'redis' && { redis: { url: process.env.REDIS_URL } }),
  tiers: { bench: '100000000/min' },
  defaultTier: 'bench',
};

const plugins = [];
if (withJwt) plugins.push((await import('@lucid/middleware-auth')).jwtAuth(auth));
if (limiter) plugins.push((await import('@lucid/middleware-ratelimit')).rateLimit(limits));
if (process.env.TRACE_RATIO !== undefined) {
  const { tracing } = await import('@lucid/tracing');
  plugins.push(tracing({ endpoint: process.env.OTLP_URL, sampleRatio: Number(process.env.TRACE_RATIO) }));
}

const gateway = createGateway(
  {
    // Access log on, written asynchronously to stdout, which the runner discards.
    logging: { level: 'info', pretty: false, accessLog: true },
    server: { engine: process.env.LUCID_ENGINE ?? 'undici' },
    services: { api: { targets: [process.env.UPSTREAM] } },
    routes: [{ prefix: '/api', service: 'api', auth: withJwt ? 'required' : 'public' }],
  },
  { plugins },
);
await gateway.listen({ port: Number(process.env.PORT), host: '127.0.0.1' });
console.error('ready');
for (const signal of ['SIGTERM', 'SIGINT']) {
  process.once(signal, () => gateway.close({ graceMs: 1_000 }).then(() => process.exit(0)));
}
