import { main } from './cli.js';
import { exitQuietlyOnClosedPipe } from './run/closed-pipe.js';

exitQuietlyOnClosedPipe(process.stdout);
exitQuietlyOnClosedPipe(process.stderr);
const code = await main();
if (code !== undefined) process.exitCode = code;
