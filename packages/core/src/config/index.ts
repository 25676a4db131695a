export { AUTHENTICATION, CERTIFICATES } from './checks.js';
export * from './errors.js';
export type {
  GatewayConfigExtensions,
  RouteOptionsExtensions,
  ServiceOptionsExtensions,
} from './extensions.js';
export * from './plugin-schema.js';
export { configJsonSchema, configReference, SCHEMA_ID } from './reference.js';
export * from './schema.js';
export { didYouMean } from './suggest.js';
export * from './units.js';
export * from './validate.js';
export type { ConfigView } from './view.js';
