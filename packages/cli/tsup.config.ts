import { defineConfig } from 'tsup';
import { library } from '../../tsup.base.js';
import { builtinsByRequire, undiciH2OnFirstUse } from './bundle-plugins.js';
import { MALLOC_ENV, SEMI_SPACE_MB } from './src/run/v8-flags.js';

/**
 * Loaded at run time by name (`createRequire(...)(name)`), never bundled: each only when its feature is
 * configured (http-proxy-3, ioredis, consul, the OpenTelemetry packages), is read from disk as files (Swagger UI's assets in @fastify/swagger-ui), or is
 * optional (pino-pretty, typescript). They are the CLI's own dependencies, so they resolve from dist/bin.js.
 * (`@opentelemetry/api` is bundled: prom-client requires it for exemplars. The tracing plugin loads its own
 * copy by name with the SDK; the two share the API's globals, which the gateway does not use.)
 */
const LOADED_BY_NAME = [
  'http-proxy-3',
  'ioredis',
  'consul',
  '@fastify/swagger-ui',
  'pino-pretty',
  'typescript',
  '@opentelemetry/sdk-trace',
  '@opentelemetry/exporter-trace-otlp-http',
  '@opentelemetry/resources',
];
const bundled = new RegExp(`^(?!(?:${LOADED_BY_NAME.join('|')})(?:/|$))`);

// Two builds: the library (ESM + CJS with types) and the executable (ESM only, with a shebang).
// Neither cleans dist/, because they run side by side and would delete each other's output.
export default defineConfig([
  library,
  {
    ...library,
    entry: { bin: 'src/bin.ts' },
    format: ['esm'],
    dts: false,
    // One minified file with the workspace packages and their dependencies: Node then reads a few files at
    // start instead of ~500. Split: what import() loads (the CLI after the V8 flags, yaml, openapi-merge) is
    // a chunk of its own, 3 MB less resident at idle than one file. A CommonJS package's chunk exports only
    // `default`, so code that import()s one reads `.default`, as Node allows too.
    noExternal: [bundled],
    external: LOADED_BY_NAME,
    minify: true,
    // node:x stays node:x, so that builtinsByRequire sees every built-in.
    removeNodeProtocol: false,
    esbuildPlugins: [builtinsByRequire, undiciH2OnFirstUse],
    esbuildOptions(options) {
      library.esbuildOptions?.(options, { format: 'esm' });
      // Non-ASCII escaped: V8 then keeps the source as one byte per character, not two (1.5 MB less).
      options.charset = 'ascii';
      // The bundled packages' license comments, in a file beside each output (they may hold non-ASCII).
      options.legalComments = 'external';
      options.chunkNames = 'chunks/[name]-[hash]';
    },
    // "--" ends Node's own options: without it Node 24 takes the CLI's --env-file for itself (and exits 9
    // when the file is missing) even though it comes after the script. The young generation's size (see
    // src/run/v8-flags.ts) and malloc's arena count apply when the bin runs as a command; `node dist/bin.js`
    // relaunches itself with them.
    // The require() below serves the bundled CommonJS and the built-ins (see builtinsByRequire).
    banner: {
      js: [
        `#!/usr/bin/env -S ${Object.entries(MALLOC_ENV).map(([k, v]) => `${k}=${v} `)}node --max-semi-space-size=${SEMI_SPACE_MB} --`,
        "import { createRequire as __lucidRequire } from 'node:module';",
        'const require = __lucidRequire(import.meta.url);',
      ].join('\n'),
    },
  },
]);
