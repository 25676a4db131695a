import { createPublicKey, createSecretKey, type JsonWebKey, type KeyObject } from 'node:crypto';
import { type Algorithm, algorithmsForKey, type KeyAlgorithms } from '../config/algorithms.js';

export type PublicKeyInput = string | Record<string, unknown>;

export interface ImportedPublicKey {
  key: KeyObject;
  algorithms: KeyAlgorithms;
}

/**
 * Imports a PEM (SPKI public key or X.509 certificate) or a public JWK as a KeyObject, and says
 * which algorithms fit it. Throws an Error whose message tells a person what to fix.
 */
export function importPublicKey(input: PublicKeyInput): ImportedPublicKey {
  let key: KeyObject;
  let jwkAlg: unknown;
  if (typeof input === 'string') {
    const pem = normalizePem(input);
    if (/PRIVATE KEY-----/.test(pem))
      throw new Error('this is a private key; give the public key (or certificate)');
    if (!pem.includes('-----BEGIN '))
      throw new Error('expected a PEM public key ("-----BEGIN PUBLIC KEY-----...")');
    try {
      key = createPublicKey(pem);
    } catch {
      throw new Error('not a readable PEM public key or certificate');
    }
  } else {
    if (input.kty === 'oct') throw new Error('a symmetric JWK belongs under "secret"');
    if ('d' in input || 'p' in input) throw new Error('this JWK holds a private key; give its public part');
    jwkAlg = input.alg;
    try {
      key = createPublicKey({ key: input as JsonWebKey, format: 'jwk' });
    } catch {
      throw new Error('not a usable public JWK (expected kty RSA, EC or OKP with its public members)');
    }
  }
  const details = key.asymmetricKeyDetails;
  const algorithms = algorithmsForKey(key.asymmetricKeyType, details?.namedCurve);
  if (!algorithms) {
    const curve = details?.namedCurve ? ` (${details.namedCurve})` : '';
    throw new Error(
      `unsupported key type "${key.asymmetricKeyType}${curve}" (use RSA, EC P-256/384/521 or Ed25519)`,
    );
  }
  if (details?.modulusLength !== undefined && details.modulusLength < 2048) {
    throw new Error(`RSA keys must have at least 2048 bits (this one has ${details.modulusLength})`);
  }
  if (typeof jwkAlg === 'string') {
    // A JWK that names its algorithm may only be used with that algorithm (RFC 7517 §4.4).
    if (!algorithms.allowed.includes(jwkAlg as Algorithm)) {
      throw new Error(`the JWK's "alg" ${jwkAlg} does not fit ${algorithms.kind}`);
    }
    const only = [jwkAlg as Algorithm];
    return { key, algorithms: { kind: `${algorithms.kind} for ${jwkAlg}`, allowed: only, defaults: only } };
  }
  return { key, algorithms };
}

/** The HMAC secret as a KeyObject (UTF-8 bytes of the configured string). */
export function importSecret(secret: string): KeyObject {
  return createSecretKey(Buffer.from(secret, 'utf8'));
}

/** PEM from an environment variable often arrives with literal `\n`; turn those back into line breaks. */
function normalizePem(pem: string): string {
  const trimmed = pem.trim();
  return trimmed.includes('\n') ? trimmed : trimmed.replace(/\\n/g, '\n');
}
