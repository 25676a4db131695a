import { defineConfig } from 'tsup';
import { library } from '../../tsup.base.js';

// import.meta.url (the lazy require of ioredis) needs a shim in the CommonJS build.
export default defineConfig({ ...library, clean: true, shims: true });
