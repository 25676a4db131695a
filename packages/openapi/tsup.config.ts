import { defineConfig } from 'tsup';
import { library } from '../../tsup.base.js';

export default defineConfig({
  ...library,
  clean: true,
  // import.meta.url (used to find the docs UI's files) needs a shim in the CommonJS build.
  shims: true,
});
