export { DocumentError } from './document.js';
export { MAX_JSON_DEPTH, parseJsonBody } from './json-body.js';
export { MAX_PROBLEMS, type Problem } from './problems.js';
export {
  type Found,
  OpenApiValidator,
  Operation,
  type RequestParts,
  type ValidatorOptions,
  type Verdict,
} from './validator.js';
