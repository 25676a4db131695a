// Helpers for tests that run the built CLI (`lucid-gateway`) as a child process.
export * from './build.js';
export * from './cli.js';
