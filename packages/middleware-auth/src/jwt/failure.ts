/** Why a request was refused; the label of the auth failures metric. */
export type FailureReason =
  | 'missing'
  | 'duplicate_header'
  | 'malformed'
  | 'too_large'
  | 'expired'
  | 'not_yet_valid'
  | 'too_old'
  | 'bad_issuer'
  | 'bad_audience'
  | 'bad_type'
  | 'missing_claim'
  | 'invalid_claims'
  | 'bad_algorithm'
  | 'unsupported'
  | 'bad_signature'
  | 'unknown_key'
  | 'invalid'
  | 'invalid_api_key'
  | 'keys_unavailable'
  | 'insufficient_scope'
  | 'claim_mismatch';

export const FAILURE_REASONS: readonly FailureReason[] = [
  'missing',
  'duplicate_header',
  'malformed',
  'too_large',
  'expired',
  'not_yet_valid',
  'too_old',
  'bad_issuer',
  'bad_audience',
  'bad_type',
  'missing_claim',
  'invalid_claims',
  'bad_algorithm',
  'unsupported',
  'bad_signature',
  'unknown_key',
  'invalid',
  'invalid_api_key',
  'keys_unavailable',
  'insufficient_scope',
  'claim_mismatch',
];

/**
 * A refused credential. `detail` is safe to show a client: it names the problem, never the
 * token or a claim's value.
 */
export class AuthFailure extends Error {
  readonly reason: FailureReason;
  readonly detail: string;
  constructor(reason: FailureReason, detail: string, options?: { cause?: unknown }) {
    super(detail, options);
    this.name = 'AuthFailure';
    this.reason = reason;
    this.detail = detail;
  }
}

/** The signing keys could not be fetched: not the client's fault, so not a 401. */
export class KeysUnavailableError extends Error {
  readonly code = 'ERR_LUCID_KEYS_UNAVAILABLE';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'KeysUnavailableError';
  }
}

interface JoseLikeError {
  code?: unknown;
  claim?: unknown;
  reason?: unknown;
}

/** Turns what jose throws into a reason and a client-safe detail. */
export function classifyVerifyError(err: unknown): AuthFailure {
  if (err instanceof AuthFailure) return err;
  if (err instanceof KeysUnavailableError)
    return new AuthFailure('keys_unavailable', 'signing keys unavailable', { cause: err });
  const { code, claim, reason } = (err ?? {}) as JoseLikeError;
  const fail = (r: FailureReason, detail: string) => new AuthFailure(r, detail, { cause: err });
  switch (code) {
    case 'ERR_JWT_EXPIRED':
      return claim === 'iat' ? fail('too_old', 'token too old') : fail('expired', 'token expired');
    case 'ERR_JWT_CLAIM_VALIDATION_FAILED':
      if (reason === 'missing') return fail('missing_claim', `token has no "${String(claim)}" claim`);
      if (reason === 'invalid') return fail('invalid_claims', `token "${String(claim)}" claim is malformed`);
      switch (claim) {
        case 'nbf':
          return fail('not_yet_valid', 'token not yet valid');
        case 'iss':
          return fail('bad_issuer', 'token issuer not accepted');
        case 'aud':
          return fail('bad_audience', 'token audience not accepted');
        case 'typ':
          return fail('bad_type', 'token type not accepted');
        case 'iat':
          return fail('invalid_claims', 'token issued in the future');
        default:
          return fail('invalid_claims', 'token claims not accepted');
      }
    case 'ERR_JOSE_ALG_NOT_ALLOWED':
      return fail('bad_algorithm', 'token algorithm not accepted');
    // With the allow-list checked first, this is an unknown `crit` extension or a key jose cannot use.
    case 'ERR_JOSE_NOT_SUPPORTED':
      return fail('unsupported', 'token uses an unsupported header or key');
    case 'ERR_JWS_SIGNATURE_VERIFICATION_FAILED':
      return fail('bad_signature', 'token signature invalid');
    case 'ERR_JWKS_NO_MATCHING_KEY':
      return fail('unknown_key', 'token signing key not found');
    case 'ERR_JWS_INVALID':
    case 'ERR_JWT_INVALID':
      return fail('malformed', 'token malformed');
    default:
      return fail('invalid', 'token invalid');
  }
}
