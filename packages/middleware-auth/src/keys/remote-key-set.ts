import { DependencyBreaker } from '@lucid/gateway-core';
import {
  type CryptoKey,
  createRemoteJWKSet,
  customFetch,
  type FetchImplementation,
  type FlattenedJWSInput,
  type JWSHeaderParameters,
} from 'jose';
import { KeysUnavailableError } from '../jwt/failure.js';

export interface RemoteKeySetOptions {
  uri: string;
  /** After a fetch, an unknown `kid` does not cause another fetch for this long (ms). */
  cooldown: number;
  /** Time allowed for one fetch (ms). */
  timeout: number;
  /** Keys older than this are refreshed in the background; the old ones keep serving meanwhile (ms). */
  cacheMaxAge: number;
  /** Told about each failed fetch (for a log line). */
  onFetchError?: (err: Error) => void;
  /** Fetches timing out in a row that open the breaker (default 3). */
  breakerFailures?: number;
  /** While open, one background probe of the endpoint per this long (ms, default 5000). */
  breakerCooldown?: number;
}

export interface RemoteKeySetState {
  keys: number;
  /** Milliseconds since the last successful fetch; undefined before the first one. */
  ageMs: number | undefined;
  lastError: string | undefined;
  /** The endpoint timed out repeatedly: fetches fail fast until a background probe gets an answer. */
  breakerOpen: boolean;
}

export interface RemoteKeySet {
  /** A jose key resolver: picks the key for a token's header, fetching the set when needed. */
  getKey(header: JWSHeaderParameters, token: FlattenedJWSInput): Promise<CryptoKey>;
  /** Fetches the set now; resolves false (and keeps any old keys) when that fails. */
  refresh(): Promise<boolean>;
  state(): RemoteKeySetState;
  /** Aborts a fetch in flight and refuses new ones. */
  close(): void;
}

// jose's own "no key for this token" answers; anything else from the resolver means the set is unusable.
const TOKEN_ERRORS = new Set([
  'ERR_JWKS_NO_MATCHING_KEY',
  'ERR_JWKS_MULTIPLE_MATCHING_KEYS',
  'ERR_JOSE_NOT_SUPPORTED',
]);

/**
 * jose's remote key set (cached, refetched on an unknown `kid` at most once per cooldown, a fetch
 * timeout), plus two things it lacks: keys past `cacheMaxAge` keep serving while a background
 * refresh runs (an identity provider's hiccup does not fail every request), and after a failed fetch
 * the next one waits a little, so tokens with made-up `kid`s cannot turn into a fetch each.
 */
export function createRemoteKeySet(opts: RemoteKeySetOptions): RemoteKeySet {
  const abort = new AbortController();
  const retryAfterFailure = Math.min(opts.cooldown, 5_000);
  let lastSuccessAt: number | undefined;
  let lastFailureAt = Number.NEGATIVE_INFINITY;
  let lastError: string | undefined;
  // An endpoint that accepts the connection and never answers would hold every request that needs a
  // refetch for the whole timeout; after a few such timeouts those requests fail fast instead, and
  // one probe at a time tests the endpoint in the background until it answers again.
  const breaker = new DependencyBreaker({
    failures: opts.breakerFailures ?? 3,
    cooldown: opts.breakerCooldown ?? 5_000,
    probe: async () => {
      const signal = AbortSignal.any([AbortSignal.timeout(opts.timeout), abort.signal]);
      const res = await fetch(opts.uri, { signal, redirect: 'manual' });
      await res.body?.cancel();
    },
  });

  const fetchKeySet: FetchImplementation = async (url, init) => {
    if (abort.signal.aborted) throw new KeysUnavailableError('key set closed');
    if (!breaker.allows()) throw new KeysUnavailableError('key set endpoint not answering (circuit open)');
    if (Date.now() - lastFailureAt < retryAfterFailure) {
      throw new KeysUnavailableError(`key set fetch failed recently (${lastError})`);
    }
    try {
      const res = await fetch(url, { ...init, signal: AbortSignal.any([init.signal, abort.signal]) });
      if (res.status !== 200) {
        await res.body?.cancel();
        throw new KeysUnavailableError(`key set endpoint answered HTTP ${res.status}`);
      }
      const body: unknown = await res.json().catch((cause) => {
        throw new KeysUnavailableError('key set is not JSON', { cause });
      });
      if (!isKeySet(body)) throw new KeysUnavailableError('key set has no "keys" array');
      breaker.succeeded();
      lastSuccessAt = Date.now();
      lastError = undefined;
      lastFailureAt = Number.NEGATIVE_INFINITY;
      // jose parses the body itself; hand it the checked copy.
      return Response.json(body);
    } catch (err) {
      lastFailureAt = Date.now();
      lastError = describe(err);
      if (lastError === 'timed out') breaker.timedOut();
      const error =
        err instanceof KeysUnavailableError ? err : new KeysUnavailableError(lastError, { cause: err });
      opts.onFetchError?.(error);
      throw error;
    }
  };

  const remote = createRemoteJWKSet(new URL(opts.uri), {
    cooldownDuration: opts.cooldown,
    timeoutDuration: opts.timeout,
    // Staleness is handled here (refresh in the background), so jose never blocks on it.
    cacheMaxAge: Number.POSITIVE_INFINITY,
    [customFetch]: fetchKeySet,
  });

  const refresh = async (): Promise<boolean> => {
    try {
      await remote.reload();
      return true;
    } catch {
      return false;
    }
  };

  return {
    async getKey(header, token) {
      if (lastSuccessAt !== undefined && Date.now() - lastSuccessAt > opts.cacheMaxAge && !remote.reloading) {
        void refresh();
      }
      try {
        return await remote(header, token);
      } catch (err) {
        const code = (err as { code?: unknown }).code;
        if (typeof code === 'string' && TOKEN_ERRORS.has(code)) throw err;
        throw err instanceof KeysUnavailableError
          ? err
          : new KeysUnavailableError(`key set unusable (${describe(err)})`, { cause: err });
      }
    },
    refresh,
    state() {
      return {
        keys: remote.jwks()?.keys.length ?? 0,
        ageMs: lastSuccessAt === undefined ? undefined : Date.now() - lastSuccessAt,
        lastError,
        breakerOpen: breaker.open,
      };
    },
    close() {
      breaker.close();
      abort.abort();
    },
  };
}

function isKeySet(v: unknown): v is { keys: unknown[] } {
  return typeof v === 'object' && v !== null && Array.isArray((v as { keys?: unknown }).keys);
}

/** A short, address-free description of a fetch failure (it may end up in /health). */
function describe(err: unknown): string {
  if (err instanceof KeysUnavailableError) return err.message;
  const e = err as { name?: string; code?: string; cause?: { code?: string } };
  if (e?.name === 'TimeoutError' || e?.code === 'ERR_JWKS_TIMEOUT') return 'timed out';
  if (e?.name === 'AbortError') return 'aborted';
  const code = e?.cause?.code ?? e?.code;
  return typeof code === 'string' ? `unreachable (${code})` : 'unreachable';
}
