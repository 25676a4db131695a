// Consul for tests: the stand-in HTTP API server, the Consul under test (a real agent when
// CONSUL_HTTP_ADDR is set), and a throwaway PKI for Connect certificates.
export * from './pki.js';
export * from './test-server.js';
export * from './under-test.js';
