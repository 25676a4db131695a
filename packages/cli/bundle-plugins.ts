// esbuild plugins for the CLI's bundle (tsup.config.ts). Each cut measured on the embedded default config.
import { readFileSync } from 'node:fs';
import { createRequire, isBuiltin } from 'node:module';
import type { Options } from 'tsup';

type EsbuildPlugin = NonNullable<Options['esbuildPlugins']>[number];
const requireHere = createRequire(import.meta.url);

/**
 * Built-ins that cost megabytes to load (OpenSSL's TLS set-up; HTTP/2 brings TLS with it) and that a
 * gateway without TLS targets never uses: loaded at their first use, through getters named when bundling.
 */
const LAZY_BUILTINS = new Set(['https', 'tls', 'http2']);

/**
 * Node's built-ins through require(), not import: an ES import builds the module's whole namespace, which
 * runs its lazy getters. `node:http`'s load Node's own copy of undici and web streams (its WebSocket export),
 * `node:crypto`'s load WebCrypto: about 11 MB resident at start for nothing the gateway uses.
 */
export const builtinsByRequire: EsbuildPlugin = {
  name: 'builtins-by-require',
  setup(build) {
    build.onResolve({ filter: /^[a-z_:/0-9]+$/ }, (args) => {
      if (!isBuiltin(args.path)) return undefined;
      if (args.namespace === 'builtin') return { path: args.path, external: true };
      return { path: args.path, namespace: 'builtin' };
    });
    build.onLoad({ filter: /.*/, namespace: 'builtin' }, (args) => {
      const id = JSON.stringify(args.path);
      if (!LAZY_BUILTINS.has(args.path.replace(/^node:/, ''))) {
        return { contents: `module.exports = require(${id});`, loader: 'js' };
      }
      const names = JSON.stringify(Object.keys(requireHere(args.path)));
      return {
        contents: `let m;
for (const k of ${names}) Object.defineProperty(module.exports, k, { enumerable: true, get: () => (m ??= require(${id}))[k] });`,
        loader: 'js',
      };
    });
  },
};

/**
 * undici's client loads its HTTP/2 half (and with it node:http2 and TLS, about 9 MB resident) when it loads,
 * though only a connection that negotiates h2 uses it: here it loads at that first use. The build fails
 * should undici's line change, rather than bundle it unchanged.
 */
export const undiciH2OnFirstUse: EsbuildPlugin = {
  name: 'undici-h2-on-first-use',
  setup(build) {
    build.onLoad({ filter: /[\\/]undici[\\/]lib[\\/]dispatcher[\\/]client\.js$/ }, (args) => {
      const source = readFileSync(args.path, 'utf8');
      const line = "const connectH2 = require('./client-h2.js')";
      if (!source.includes(line))
        throw new Error(`${args.path}: "${line}" not found; update bundle-plugins.ts`);
      return {
        contents: source.replace(line, "const connectH2 = (...a) => require('./client-h2.js')(...a)"),
        loader: 'js',
      };
    });
  },
};
