import { main } from './cli.js';

const code = await main();
if (code !== undefined) process.exitCode = code;
