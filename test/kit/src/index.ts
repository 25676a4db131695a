// Shared test helpers: real loopback servers, gateways, Redis, requests. Private to this repository.
export * from './gateway.js';
export * from './http.js';
export * from './http2.js';
export * from './http2-frames.js';
export * from './jwks-server.js';
export * from './net.js';
export * from './otlp.js';
export * from './redis.js';
export * from './redis-cluster.js';
export * from './tls.js';
export * from './until.js';
export * from './upstream.js';
