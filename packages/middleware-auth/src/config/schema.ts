import { duration, size } from '@lucid/gateway-core';
import { z } from 'zod';
import { importPublicKey } from '../keys/static-key.js';
import {
  ALGORITHMS,
  type Algorithm,
  ASYMMETRIC_ALGORITHMS,
  HMAC_ALGORITHMS,
  HMAC_MIN_SECRET_BYTES,
  isHmac,
} from './algorithms.js';

export const JWKS_DEFAULTS = { cooldown: 30_000, timeout: 5_000, cacheMaxAge: 600_000 } as const;
export const DEFAULT_TIER_CLAIM = 'tier';
export const CACHE_DEFAULTS = { max: 10_000, ttl: 300_000 } as const;

const httpUrl = z.string().refine(
  (v) => {
    try {
      const u = new URL(v);
      return (u.protocol === 'https:' || u.protocol === 'http:') && !u.username && !u.password;
    } catch {
      return false;
    }
  },
  { message: 'expected an https:// URL like "https://auth.example/.well-known/jwks.json"' },
);

const jwksObject = z.strictObject({
  uri: httpUrl,
  /** After a refetch, an unknown `kid` does not trigger another one for this long. */
  cooldown: duration.default(JWKS_DEFAULTS.cooldown),
  /** Time allowed for one fetch of the key set. */
  timeout: duration.default(JWKS_DEFAULTS.timeout),
  /** Keys older than this are refreshed in the background while still being served. */
  cacheMaxAge: duration.default(JWKS_DEFAULTS.cacheMaxAge),
});

const jwksSchema = z.union([httpUrl.transform((uri) => ({ uri, ...JWKS_DEFAULTS })), jwksObject]);

const algorithm = z.enum(ALGORITHMS, {
  error: (issue) =>
    typeof issue.input === 'string' && issue.input.toLowerCase() === 'none'
      ? '"none" is never accepted: tokens must be signed'
      : `expected one of ${ALGORITHMS.join(', ')}`,
});

const nonEmpty = z.string().min(1, { message: 'must not be empty' });
const oneOrMore = z.union([nonEmpty, z.array(nonEmpty).nonempty()]);

const jwtObject = z.strictObject({
  /** HMAC secret (HS256/384/512), at least as many bytes as the hash (32 for HS256). */
  secret: nonEmpty.optional(),
  /** A PEM public key or certificate, or a public JWK (RSA, EC, Ed25519). */
  publicKey: z.union([nonEmpty, z.looseObject({ kty: z.string() })]).optional(),
  /** A remote JSON Web Key Set: its URL, or `{ uri, cooldown, timeout, cacheMaxAge }`. */
  jwks: jwksSchema.optional(),
  /** Accepted `alg` values. Defaults follow the key: HS256 for a secret, the key's own for a public key, RS256 for a JWKS. */
  algorithms: z.array(algorithm).nonempty().optional(),
  issuer: oneOrMore,
  audience: oneOrMore,
  clockTolerance: duration.default(30_000),
  /** Tokens whose `iat` is older than this are refused (requires `iat`). */
  maxTokenAge: duration.optional(),
  maxTokenSize: size.default(8 * 1024),
  /** Expected `typ` header, e.g. `at+jwt` (RFC 9068); unchecked when absent. */
  typ: nonEmpty.optional(),
});

type JwtObject = z.output<typeof jwtObject>;

const jwtSchema = jwtObject.transform((jwt, ctx) => {
  const sources = (['secret', 'publicKey', 'jwks'] as const).filter((k) => jwt[k] !== undefined);
  if (sources.length !== 1) {
    ctx.addIssue({
      code: 'custom',
      message:
        sources.length === 0
          ? 'no key source: set one of "secret" (HS*), "publicKey" (PEM or JWK) or "jwks" (a key set URL)'
          : `choose one key source, not ${sources.map((s) => `"${s}"`).join(' and ')}`,
    });
    return z.NEVER;
  }
  const algorithms = resolveAlgorithms(jwt, ctx);
  return algorithms ? { ...jwt, algorithms } : z.NEVER;
});

/** Picks the allow-list for the key source, or reports why the configured one cannot fit. */
function resolveAlgorithms(jwt: JwtObject, ctx: z.RefinementCtx): Algorithm[] | undefined {
  const misfit = (algs: readonly string[], allowed: readonly Algorithm[], kind: string) => {
    const bad = algs.filter((a) => !allowed.includes(a as Algorithm));
    if (bad.length === 0) return false;
    ctx.addIssue({
      code: 'custom',
      path: ['algorithms'],
      message: `${bad.join(', ')} cannot be verified with ${kind} (allowed: ${allowed.join(', ')})`,
    });
    return true;
  };

  if (jwt.secret !== undefined) {
    const algs = jwt.algorithms ?? ['HS256'];
    if (misfit(algs, HMAC_ALGORITHMS, 'a shared secret')) return undefined;
    const need = Math.max(...algs.map((a) => (isHmac(a) ? HMAC_MIN_SECRET_BYTES[a] : 0)));
    const have = Buffer.byteLength(jwt.secret, 'utf8');
    if (have < need) {
      ctx.addIssue({
        code: 'custom',
        path: ['secret'],
        message: `too short for ${algs.join(', ')}: ${have} bytes, at least ${need} needed (e.g. "openssl rand -base64 48")`,
      });
      return undefined;
    }
    return [...algs];
  }

  if (jwt.publicKey !== undefined) {
    let imported: ReturnType<typeof importPublicKey>;
    try {
      imported = importPublicKey(jwt.publicKey);
    } catch (err) {
      ctx.addIssue({ code: 'custom', path: ['publicKey'], message: (err as Error).message });
      return undefined;
    }
    const { allowed, defaults, kind } = imported.algorithms;
    const algs = jwt.algorithms ?? defaults;
    return misfit(algs, allowed, kind) ? undefined : [...algs];
  }

  const algs = jwt.algorithms ?? ['RS256'];
  // A key set only ever holds public keys here: a shared secret must not come from a URL.
  return misfit(algs, ASYMMETRIC_ALGORITHMS, 'a JWKS (public keys only)') ? undefined : [...algs];
}

const HEADER_NAME = /^[a-z0-9!#$%&'*+.^_`|~-]+$/;
// Headers whose removal or replacement would break the request or hijack another mechanism.
const RESERVED_HEADERS = new Set([
  'host',
  'authorization',
  'cookie',
  'connection',
  'content-length',
  'content-type',
  'transfer-encoding',
  'te',
  'upgrade',
  'keep-alive',
  'proxy-authorization',
  'x-request-id',
  'x-forwarded-for',
  'x-forwarded-proto',
  'x-forwarded-host',
  'forwarded',
  'traceparent',
]);

const headerProblem = (h: string) =>
  !HEADER_NAME.test(h)
    ? 'not a valid header name'
    : RESERVED_HEADERS.has(h)
      ? 'this header is reserved; pick another name'
      : undefined;

const headerName = z
  .string()
  .toLowerCase()
  .superRefine((h, ctx) => {
    const problem = headerProblem(h);
    if (problem) ctx.addIssue({ code: 'custom', message: problem });
  });

// Keys checked here rather than by a key schema, so the message names the header and the problem.
const forwardSchema = z
  .record(z.string(), nonEmpty)
  .superRefine((map, ctx) => {
    for (const name of Object.keys(map)) {
      const problem = headerProblem(name.toLowerCase());
      if (problem) ctx.addIssue({ code: 'custom', path: [name], message: problem });
    }
  })
  .transform((map) => Object.fromEntries(Object.entries(map).map(([h, c]) => [h.toLowerCase(), c])));

const sha256Hex = z
  .string()
  .regex(/^[0-9a-fA-F]{64}$/, {
    message: 'expected the key\'s SHA-256 as 64 hex digits (e.g. printf %s "$KEY" | sha256sum)',
  })
  .transform((h) => h.toLowerCase());

const apiKeysSchema = z
  .strictObject({
    header: headerName.default('x-api-key'),
    keys: z
      .array(
        z.strictObject({
          id: nonEmpty,
          sha256: sha256Hex,
          tier: nonEmpty,
          scopes: z.array(nonEmpty).default([]),
          /** The identity's `sub`; the key's id when absent. */
          sub: nonEmpty.optional(),
        }),
      )
      .min(1, { message: 'list at least one key, or remove "apiKeys"' }),
  })
  .superRefine((cfg, ctx) => {
    const ids = new Set<string>();
    const hashes = new Set<string>();
    cfg.keys.forEach((k, i) => {
      if (ids.has(k.id))
        ctx.addIssue({ code: 'custom', path: ['keys', i, 'id'], message: `duplicate id "${k.id}"` });
      if (hashes.has(k.sha256)) {
        ctx.addIssue({
          code: 'custom',
          path: ['keys', i, 'sha256'],
          message: 'the same key is listed twice',
        });
      }
      ids.add(k.id);
      hashes.add(k.sha256);
    });
  });

/**
 * The config's `auth:` section: JWT verification (one key source), claims to headers,
 * optional API keys for machine clients, and the verified-token cache.
 *
 * @example
 * authConfigSchema.parse({
 *   jwt: { secret: process.env.JWT_SECRET_KEY, issuer: 'lucid-auth', audience: 'lucid-api' },
 *   tierClaim: 'tier',
 * });
 */
export const authConfigSchema = z
  .strictObject({
    jwt: jwtSchema.optional(),
    /** The claim whose value becomes `ctx.state.identity.tier` (for the rate limiter). */
    tierClaim: nonEmpty.default(DEFAULT_TIER_CLAIM),
    /** Where scopes are read from; by default `scope` (space-separated) then `scp` (array or string). */
    scopesClaim: nonEmpty.optional(),
    /**
     * Upstream header → claim. Incoming headers with these names are always deleted first.
     * Defaults to `x-user-id: sub`, `x-user-tier: <tierClaim>`, `x-user-scopes: scope`.
     */
    forward: forwardSchema.optional(),
    apiKeys: apiKeysSchema.optional(),
    cache: z
      .strictObject({
        /** Verified tokens kept (0 turns the cache off). */
        max: z.number().int().min(0).default(10_000),
        /** Longest a verified token is kept before its signature is checked again, whatever its `exp`. */
        ttl: duration.default(CACHE_DEFAULTS.ttl),
      })
      .default({ ...CACHE_DEFAULTS }),
  })
  .transform((cfg, ctx) => {
    if (!cfg.jwt && !cfg.apiKeys) {
      ctx.addIssue({
        code: 'custom',
        message: 'configure "jwt" (with secret, publicKey or jwks) and/or "apiKeys"',
      });
      return z.NEVER;
    }
    const forward = cfg.forward ?? {
      'x-user-id': 'sub',
      'x-user-tier': cfg.tierClaim,
      'x-user-scopes': 'scope',
    };
    if (cfg.apiKeys && cfg.apiKeys.header in forward) {
      ctx.addIssue({
        code: 'custom',
        path: ['apiKeys', 'header'],
        message: `"${cfg.apiKeys.header}" is also a forwarded identity header`,
      });
      return z.NEVER;
    }
    return { ...cfg, forward };
  });

export type AuthOptionsInput = z.input<typeof authConfigSchema>;
export type AuthOptions = z.output<typeof authConfigSchema>;
export type JwtOptions = NonNullable<AuthOptions['jwt']>;
export type ApiKeyOptions = NonNullable<AuthOptions['apiKeys']>;
