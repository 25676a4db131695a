import type { Options } from 'tsup';

/**
 * How every package is built: ESM + CJS with types, for Node 22. Source maps map stack traces back
 * to the TypeScript, without embedding the sources (they were most of each tarball).
 */
export const library: Options = {
  entry: { index: 'src/index.ts' },
  format: ['esm', 'cjs'],
  dts: true,
  sourcemap: true,
  target: 'node22',
  platform: 'node',
  esbuildOptions(options) {
    options.sourcesContent = false;
  },
};
