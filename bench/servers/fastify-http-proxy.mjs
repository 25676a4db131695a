// @fastify/http-proxy's plain proxy (undici underneath), logging off as its benchmarks run it.
import proxy from '@fastify/http-proxy';
import Fastify from 'fastify';

const app = Fastify({ logger: false });
await app.register(proxy, { upstream: process.env.UPSTREAM, prefix: '/api', rewritePrefix: '' });
await app.listen({ port: Number(process.env.PORT), host: '127.0.0.1' });
console.error('ready');
