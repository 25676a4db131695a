import { duration } from '@lucid/gateway-core';
import { z } from 'zod';
import { consulAddressFromEnv, normalizeConsulUrl } from './env.js';

const MAX_WAIT_MS = 10 * 60_000;

/** A PEM file's path, or the PEM itself (text starting with `-----BEGIN`). */
const pem = z.string().min(1);

const consulUrl = z
  .string()
  .optional()
  .transform((v, ctx) => {
    const url = normalizeConsulUrl(v ?? consulAddressFromEnv());
    if (url === undefined) {
      ctx.addIssue({
        code: 'custom',
        message: `"${v}" is not a Consul address (write it like "http://127.0.0.1:8500" or "https://consul:8501")`,
      });
      return z.NEVER;
    }
    return url;
  });

export const registerConfigSchema = z.strictObject({
  /** The service name the gateway registers under. */
  name: z.string().min(1).default('lucid-api-gateway'),
  /** Unique per instance; defaults to `<name>-<hostname>-<port>`. */
  id: z.string().min(1).optional(),
  /** The address other services (and the agent's health check) reach the gateway on; the agent's node address when omitted. */
  address: z.string().min(1).optional(),
  /** The port to register; the port the gateway listens on when omitted. */
  port: z.number().int().min(1).max(65_535).optional(),
  tags: z.array(z.string()).default([]),
  meta: z.record(z.string(), z.string()).default({}),
  check: z
    .strictObject({
      path: z.string().startsWith('/').default('/health/ready'),
      interval: duration.default(10_000),
      timeout: duration.default(5_000),
      /** Consul removes the registration after the check stayed critical this long (its minimum is 1m). */
      deregisterAfter: duration.default(10 * 60_000),
    })
    .prefault({}),
});

export const consulConfigSchema = z
  .strictObject({
    /** Agent address; `CONSUL_HTTP_ADDR` (and `CONSUL_HTTP_SSL`), else `http://127.0.0.1:8500`. */
    url: consulUrl,
    /** ACL token; `CONSUL_HTTP_TOKEN` when omitted. */
    token: z
      .string()
      .optional()
      .transform((v) => v || process.env.CONSUL_HTTP_TOKEN || undefined),
    /** TLS to the agent: CA and client certificate (paths or PEM); `CONSUL_CACERT`, `CONSUL_CLIENT_CERT`, `CONSUL_CLIENT_KEY` when omitted. */
    tls: z
      .strictObject({
        ca: pem.optional(),
        cert: pem.optional(),
        key: pem.optional(),
        servername: z.string().optional(),
        rejectUnauthorized: z.boolean().default(true),
      })
      .optional()
      .refine((tls) => !tls || Boolean(tls.cert) === Boolean(tls.key), {
        message: 'a client certificate needs both "cert" and "key"',
      }),
    /** Datacenter to query; the agent's own when omitted (a service's `consul.dc` wins). */
    datacenter: z.string().min(1).optional(),
    /** How long one blocking query may wait for a change (Consul caps it at 10m). */
    wait: duration
      .default(55_000)
      .refine((ms) => ms >= 1_000 && ms <= MAX_WAIT_MS, { message: 'wait is between "1s" and "10m"' }),
    /** Delay between retries after a Consul error: exponential from `min` to `max`, with jitter. */
    backoff: z
      .strictObject({ min: duration.default(500), max: duration.default(30_000) })
      .prefault({})
      .refine((b) => b.min > 0 && b.min <= b.max, { message: 'backoff needs 0 < min <= max' }),
    /** Register the gateway itself in Consul while it runs. */
    register: registerConfigSchema.optional(),
    /** Consul Connect mTLS to upstreams that use `discovery: consul`. */
    connect: z
      .strictObject({
        enabled: z.boolean().default(true),
        /** The service identity whose leaf certificate the gateway presents; `register.name` or `lucid-api-gateway`. */
        service: z.string().min(1).optional(),
      })
      .optional(),
  })
  .superRefine((consul, ctx) => {
    if (consul.tls && consul.url.startsWith('http:')) {
      ctx.addIssue({
        code: 'custom',
        path: ['tls'],
        message: `TLS settings need an https:// url (got ${consul.url})`,
      });
    }
  });

/** The config's `mesh:` section. */
export const meshConfigSchema = z.strictObject({
  consul: consulConfigSchema.prefault({}),
});

export type MeshConfigInput = z.input<typeof meshConfigSchema>;
export type MeshConfig = z.output<typeof meshConfigSchema>;
export type ConsulConfig = z.output<typeof consulConfigSchema>;
export type RegisterConfig = z.output<typeof registerConfigSchema>;
