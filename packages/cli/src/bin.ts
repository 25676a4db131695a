import { useCompileCache } from './run/compile-cache.js';
import { relaunchWithV8Flags } from './run/v8-flags.js';

// First, before the gateway's code loads: a relaunch under other V8 flags would load it twice, and the
// compile cache serves only what is loaded after it is on.
relaunchWithV8Flags();
useCompileCache();
const { main } = await import('./cli.js');
const { exitQuietlyOnClosedPipe } = await import('./run/closed-pipe.js');
exitQuietlyOnClosedPipe(process.stdout);
exitQuietlyOnClosedPipe(process.stderr);
const code = await main();
if (code !== undefined) process.exitCode = code;
