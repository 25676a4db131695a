export { hashApiKey } from './api-keys/api-keys.js';
export { ALGORITHMS, type Algorithm } from './config/algorithms.js';
export {
  type ApiKeyOptions,
  type AuthOptions,
  type AuthOptionsInput,
  authConfigSchema,
  type JwtOptions,
} from './config/schema.js';
export { type DevTokenOptions, signDevToken } from './dev-token.js';
export type { VerifiedIdentity } from './identity/identity.js';
export { FAILURE_REASONS, type FailureReason } from './jwt/failure.js';
export { jwtAuth } from './plugin/jwt-auth.js';
export { AUTH_ERRORS, type AuthRouteOptions, authPluginSchema } from './plugin/schema.js';
