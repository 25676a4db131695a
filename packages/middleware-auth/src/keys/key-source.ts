import type { KeyObject } from 'node:crypto';
import type { JWTVerifyGetKey } from 'jose';
import type { JwtOptions } from '../config/schema.js';
import { createRemoteKeySet, type RemoteKeySet } from './remote-key-set.js';
import { importPublicKey, importSecret } from './static-key.js';

export interface KeySource {
  kind: 'secret' | 'publicKey' | 'jwks';
  /** What jose verifies with: one KeyObject imported at startup, or the remote set's resolver. */
  key: KeyObject | JWTVerifyGetKey;
  remote: RemoteKeySet | undefined;
}

/** Imports the configured key once (the schema already checked that it fits the algorithms). */
export function createKeySource(
  jwt: JwtOptions,
  hooks: { onFetchError?: (err: Error) => void } = {},
): KeySource {
  if (jwt.secret !== undefined) return { kind: 'secret', key: importSecret(jwt.secret), remote: undefined };
  if (jwt.publicKey !== undefined) {
    return { kind: 'publicKey', key: importPublicKey(jwt.publicKey).key, remote: undefined };
  }
  const jwks = jwt.jwks!;
  const remote = createRemoteKeySet({
    ...jwks,
    ...(hooks.onFetchError && { onFetchError: hooks.onFetchError }),
  });
  return { kind: 'jwks', key: remote.getKey, remote };
}
