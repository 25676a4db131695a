/** The JWS algorithms this package verifies, grouped by the kind of key that can check them. */
export const HMAC_ALGORITHMS = ['HS256', 'HS384', 'HS512'] as const;
export const RSA_ALGORITHMS = ['RS256', 'RS384', 'RS512'] as const;
export const RSA_PSS_ALGORITHMS = ['PS256', 'PS384', 'PS512'] as const;
export const EC_ALGORITHMS = ['ES256', 'ES384', 'ES512'] as const;
export const EDDSA_ALGORITHMS = ['EdDSA', 'Ed25519'] as const;

export const ALGORITHMS = [
  ...HMAC_ALGORITHMS,
  ...RSA_ALGORITHMS,
  ...RSA_PSS_ALGORITHMS,
  ...EC_ALGORITHMS,
  ...EDDSA_ALGORITHMS,
] as const;

export type Algorithm = (typeof ALGORITHMS)[number];
export type HmacAlgorithm = (typeof HMAC_ALGORITHMS)[number];
export const ASYMMETRIC_ALGORITHMS: readonly Algorithm[] = ALGORITHMS.filter((a) => !a.startsWith('HS'));

/** RFC 7518 §3.2: an HMAC key must be at least as long as the hash output. */
export const HMAC_MIN_SECRET_BYTES: Record<HmacAlgorithm, number> = { HS256: 32, HS384: 48, HS512: 64 };

export function isHmac(alg: string): alg is HmacAlgorithm {
  return (HMAC_ALGORITHMS as readonly string[]).includes(alg);
}

/** What a public key can verify, and what to allow when the config names no algorithm. */
export interface KeyAlgorithms {
  /** A short description for error messages: `an RSA key`, `a P-256 EC key`. */
  kind: string;
  allowed: readonly Algorithm[];
  defaults: readonly Algorithm[];
}

const EC_CURVES: Record<string, Algorithm> = {
  prime256v1: 'ES256',
  'P-256': 'ES256',
  secp384r1: 'ES384',
  'P-384': 'ES384',
  secp521r1: 'ES512',
  'P-521': 'ES512',
};

/**
 * Maps a key's type (`asymmetricKeyType` of a KeyObject) and curve to the algorithms that fit it.
 * Returns undefined for key types no JWS algorithm here can use.
 */
export function algorithmsForKey(keyType: string | undefined, curve?: string): KeyAlgorithms | undefined {
  switch (keyType) {
    case 'rsa':
      return { kind: 'an RSA key', allowed: [...RSA_ALGORITHMS, ...RSA_PSS_ALGORITHMS], defaults: ['RS256'] };
    case 'rsa-pss':
      return { kind: 'an RSA-PSS key', allowed: RSA_PSS_ALGORITHMS, defaults: ['PS256'] };
    case 'ec': {
      const alg = curve ? EC_CURVES[curve] : undefined;
      return alg ? { kind: `a ${curve} EC key`, allowed: [alg], defaults: [alg] } : undefined;
    }
    case 'ed25519':
      return { kind: 'an Ed25519 key', allowed: EDDSA_ALGORITHMS, defaults: ['EdDSA', 'Ed25519'] };
    default:
      return undefined;
  }
}
