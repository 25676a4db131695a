export * from './validation/index.js';
