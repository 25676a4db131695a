import { relaunchWithV8Flags } from './run/v8-flags.js';

// First, before the gateway's code loads: a relaunch under other V8 flags would load it twice.
relaunchWithV8Flags();
const { main } = await import('./cli.js');
const { exitQuietlyOnClosedPipe } = await import('./run/closed-pipe.js');
exitQuietlyOnClosedPipe(process.stdout);
exitQuietlyOnClosedPipe(process.stderr);
const code = await main();
if (code !== undefined) process.exitCode = code;
