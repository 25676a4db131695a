export * from './config/index.js';
export * from './errors.js';
export * from './types.js';
