export { ValidationDocumentError } from './document.js';
export { MAX_JSON_DEPTH, parseJsonBody } from './json-body.js';
export { VALIDATION_ERRORS, type ValidateRouteOptions, validateRoute } from './middleware.js';
export {
  type DocumentFeed,
  type FetchedDocument,
  requestValidation,
  validationPluginSchema,
} from './plugin.js';
export { MAX_PROBLEMS, type Problem } from './problems.js';
export { ResponseReport, watchAnswer } from './response-report.js';
export { type ValidateSettings, validateOption, validateSettings } from './route-option.js';
export { type ServiceValidator, ServiceValidators } from './service-validators.js';
export {
  type Found,
  OpenApiValidator,
  Operation,
  type RequestParts,
  type ValidatorOptions,
  type Verdict,
} from './validator.js';
