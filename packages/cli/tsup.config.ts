import { defineConfig } from 'tsup';
import { library } from '../../tsup.base.js';

// Two builds: the library (ESM + CJS with types) and the executable (ESM only, with a shebang).
// Neither cleans dist/, because they run side by side and would delete each other's output.
export default defineConfig([
  library,
  {
    ...library,
    entry: { bin: 'src/bin.ts' },
    format: ['esm'],
    dts: false,
    banner: { js: '#!/usr/bin/env node' },
  },
]);
