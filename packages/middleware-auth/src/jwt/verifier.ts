import type { KeyObject } from 'node:crypto';
import {
  type CryptoKey,
  type JWTPayload,
  type JWTVerifyGetKey,
  type JWTVerifyOptions,
  jwtVerify,
} from 'jose';
import type { JwtOptions } from '../config/schema.js';
import { classifyVerifyError } from './failure.js';
import { checkRegisteredClaims } from './registered-claims.js';

/** Verifies one compact JWT; resolves its claims or rejects with an `AuthFailure`. */
export type VerifyJwt = (token: string) => Promise<JWTPayload>;

// During a rotation a key set may hold a few keys that fit a token without `kid`; try at most this many.
const MAX_CANDIDATE_KEYS = 4;

/**
 * Builds the verifier once: the options jose checks (algorithm allow-list, issuer, audience,
 * required `exp`, clock tolerance, max age, `typ`) are fixed here, never per request.
 */
export function createJwtVerifier(jwt: JwtOptions, key: KeyObject | JWTVerifyGetKey): VerifyJwt {
  const options: JWTVerifyOptions = {
    algorithms: [...jwt.algorithms],
    issuer: jwt.issuer,
    audience: jwt.audience,
    requiredClaims: ['exp'],
    clockTolerance: Math.floor(jwt.clockTolerance / 1000),
    ...(jwt.maxTokenAge !== undefined && { maxTokenAge: Math.floor(jwt.maxTokenAge / 1000) }),
    ...(jwt.typ !== undefined && { typ: jwt.typ }),
  };

  const verifyWith = (token: string) =>
    typeof key === 'function' ? jwtVerify(token, key, options) : jwtVerify(token, key, options);
  const toleranceSec = options.clockTolerance as number;
  // jose's own clock reading (whole seconds), so both checks agree on "now".
  const checked = (payload: JWTPayload) => {
    checkRegisteredClaims(payload, Math.floor(Date.now() / 1000), toleranceSec);
    return payload;
  };

  return async function verifyJwt(token) {
    let payload: JWTPayload;
    try {
      payload = (await verifyWith(token)).payload;
    } catch (err) {
      if ((err as { code?: unknown }).code !== 'ERR_JWKS_MULTIPLE_MATCHING_KEYS')
        throw classifyVerifyError(err);
      payload = await verifyWithCandidates(token, err as AsyncIterable<CryptoKey>, options);
    }
    return checked(payload);
  };
}

/** jose leaves trying several matching keys to the caller: the first whose signature fits decides. */
async function verifyWithCandidates(
  token: string,
  candidates: AsyncIterable<CryptoKey>,
  options: JWTVerifyOptions,
): Promise<JWTPayload> {
  let last: unknown;
  let tried = 0;
  for await (const candidate of candidates) {
    if (++tried > MAX_CANDIDATE_KEYS) break;
    try {
      return (await jwtVerify(token, candidate, options)).payload;
    } catch (err) {
      last = err;
      // A matching signature with bad claims is the token's final answer.
      if ((err as { code?: unknown }).code !== 'ERR_JWS_SIGNATURE_VERIFICATION_FAILED') break;
    }
  }
  throw classifyVerifyError(
    last ?? Object.assign(new Error('no usable key'), { code: 'ERR_JWKS_NO_MATCHING_KEY' }),
  );
}
