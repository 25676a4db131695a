import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

const src = (pkg: string) => fileURLToPath(new URL(`./packages/${pkg}/src/index.ts`, import.meta.url));

export default defineConfig({
  resolve: {
    // Tests run against the sources, so no build is needed between an edit and a test run.
    alias: {
      '@lucid/gateway-core': src('core'),
      '@lucid/middleware-auth': src('middleware-auth'),
      '@lucid/middleware-ratelimit': src('middleware-ratelimit'),
      '@lucid/middleware-cache': src('middleware-cache'),
      '@lucid/mesh-consul': src('mesh-consul'),
      '@lucid/acme': src('acme'),
      '@lucid/openapi': src('openapi'),
      '@lucid/dashboard': src('dashboard'),
      '@lucid/tracing': src('tracing'),
    },
  },
  test: {
    include: [
      'packages/*/src/**/*.test.ts',
      'packages/*/test/**/*.test.ts',
      'test/**/*.test.ts',
      'examples/**/*.test.ts',
    ],
    exclude: ['**/node_modules/**', '**/dist/**'],
    testTimeout: 30_000,
    hookTimeout: 30_000,
    pool: 'forks',
  },
});
