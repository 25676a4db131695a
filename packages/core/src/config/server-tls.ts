import { z } from 'zod';
import { parseDuration } from './units.js';

/** A span that may be longer than a timer holds (`30d`, `365d`): renewal margins, HSTS max-age. */
const span = z.union([z.string(), z.number()]).transform((v, ctx) => {
  const ms = parseDuration(v);
  if (ms === undefined || ms <= 0) {
    ctx.addIssue({ code: 'custom', message: `"${v}" is not a duration (write it like "30d" or "12h")` });
    return z.NEVER;
  }
  return Math.round(ms);
});

/** Let's Encrypt's production directory; its staging one is for first tries (see docs/deploying.md). */
export const LETS_ENCRYPT = 'https://acme-v02.api.letsencrypt.org/directory';
export const LETS_ENCRYPT_STAGING = 'https://acme-staging-v02.api.letsencrypt.org/directory';

// A DNS name as a CA issues for it: letters, digits and hyphens in dot-separated labels, at least two.
const DNS_NAME =
  /^(?=.{1,253}$)(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z](?:[a-z0-9-]{0,61}[a-z0-9])?$/;

const domain = z
  .string()
  .trim()
  .toLowerCase()
  .superRefine((v, ctx) => {
    if (v.startsWith('*.')) {
      ctx.addIssue({
        code: 'custom',
        message: `"${v}": a wildcard needs the dns-01 challenge, which the gateway cannot answer (list each name)`,
      });
    } else if (!DNS_NAME.test(v)) {
      ctx.addIssue({ code: 'custom', message: `"${v}" is not a DNS name like "api.example.org"` });
    }
  });

/** Certificates from an ACME CA (Let's Encrypt by default), ordered, stored and renewed by the gateway. */
export const acmeSchema = z.strictObject({
  /** The names the certificate is for (each must reach this gateway on port 80 or 443 from the CA). */
  domains: z
    .array(domain)
    .nonempty({ message: 'list the names to get a certificate for, like ["api.example.org"]' })
    .max(100, { message: 'at most 100 names in one certificate (the CA refuses more)' })
    .transform((names) => [...new Set(names)]),
  /** Where the CA writes about expiry and problems. */
  email: z.email({ message: 'expected an email address like "ops@example.org"' }).optional(),
  /** The CA's ACME directory (Let's Encrypt's staging directory for first tries). */
  directory: z
    .url({ protocol: /^https$/, message: 'expected the https:// URL of an ACME directory' })
    .default(LETS_ENCRYPT),
  /** A PEM file of the CA that signs the directory's own HTTPS certificate (a private ACME server). */
  directoryCa: z.string().min(1).optional(),
  /** A folder for the account key, certificates and the lock (a volume in the image); files are 0600. */
  storage: z.string().min(1, { message: 'the path of a folder, like "/data/acme"' }).default('acme'),
  /** How the CA checks that the names are ours: on the plain port (http-01) or on the TLS port (tls-alpn-01). */
  challenge: z
    .enum(['http-01', 'tls-alpn-01'], { message: 'expected "http-01" or "tls-alpn-01"' })
    .default('http-01'),
  /** Renew this long before the certificate expires. */
  renewBefore: span.default(30 * 86_400_000),
  /** The plain HTTP port: ACME http-01 challenges, /health/live, and a redirect to HTTPS for the rest. */
  httpPort: z.number().int().min(0).max(65_535).default(80),
});

/** `Strict-Transport-Security` on every answer over TLS (RFC 6797). */
const hsts = z.union([
  z.literal(false),
  z.literal(true).transform(() => ({ maxAge: 365 * 86_400_000, includeSubDomains: false, preload: false })),
  z.strictObject({
    maxAge: span.default(365 * 86_400_000),
    includeSubDomains: z.boolean().default(false),
    preload: z.boolean().default(false),
  }),
]);

/**
 * HTTPS on the gateway's port: PEM files (read at start and again on every reload, for rotation), or
 * certificates from ACME (`acme`), renewed in the background and swapped in without a restart.
 */
export const serverTls = z
  .strictObject({
    cert: z.string().min(1, { message: 'the path of a PEM certificate (chain) file' }).optional(),
    key: z.string().min(1, { message: 'the path of a PEM private key file' }).optional(),
    /** Passphrase of an encrypted key. */
    passphrase: z.string().optional(),
    /** Oldest TLS version accepted. */
    minVersion: z.enum(['TLSv1.2', 'TLSv1.3']).default('TLSv1.2'),
    acme: acmeSchema.optional(),
    /** `true` for one year; or `{ maxAge, includeSubDomains, preload }`. */
    hsts: hsts.default(false),
  })
  .superRefine((t, ctx) => {
    if (t.acme) {
      for (const k of ['cert', 'key'] as const) {
        if (t[k] !== undefined) {
          ctx.addIssue({
            code: 'custom',
            path: [k],
            message: 'comes from ACME when "acme" is set (remove it, or remove "acme")',
          });
        }
      }
    } else {
      for (const k of ['cert', 'key'] as const) {
        if (t[k] === undefined) {
          ctx.addIssue({
            code: 'custom',
            path: [k],
            message: `missing: give "cert" and "key" (PEM files), or "acme" to get a certificate`,
          });
        }
      }
    }
  });

export type ServerTlsConfig = z.output<typeof serverTls>;
export type AcmeConfig = z.output<typeof acmeSchema>;
