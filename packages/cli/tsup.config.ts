import { defineConfig } from 'tsup';

// Two builds: the library (ESM + CJS with types) and the executable (ESM only, with a shebang).
// Neither cleans dist/, because they run side by side and would delete each other's output.
export default defineConfig([
  {
    entry: { index: 'src/index.ts' },
    format: ['esm', 'cjs'],
    dts: true,
    sourcemap: true,
    target: 'node22',
    platform: 'node',
  },
  {
    entry: { bin: 'src/bin.ts' },
    format: ['esm'],
    banner: { js: '#!/usr/bin/env node' },
    sourcemap: true,
    target: 'node22',
    platform: 'node',
  },
]);
