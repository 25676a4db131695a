import { createHash } from 'node:crypto';
import type { ComponentHealth, ServiceConfig, TlsOptions, TlsProvider } from '@lucid/gateway-core';
import { type BlockingLoop, blockingLoop } from '../client/blocking-loop.js';
import type { CaRoots, LeafCert } from '../client/types.js';
import { consulOptionsOf } from '../config/plugin-schema.js';
import type { MeshContext } from '../context.js';
import { describeError } from '../observability/log.js';
import { parseServiceSpiffeId, serviceSpiffeId, spiffeIdentityCheck } from './spiffe.js';

export interface ConnectTls {
  /** Starts following the CA roots and the gateway's leaf; resolves once both arrived or a read failed. */
  start(): Promise<void>;
  stop(): Promise<void>;
  /** TLS material for one upstream service, verifying that service's SPIFFE id. */
  provider(serviceName: string, service: ServiceConfig): TlsProvider;
  health(): Promise<ComponentHealth>;
}

interface Material {
  ca: string[];
  cert: string;
  key: string;
  trustDomain: string;
  /** The gateway's own datacenter, from its leaf's SPIFFE id. */
  datacenter: string | undefined;
  leafValidBefore: string;
  version: string;
}

/**
 * Consul Connect mTLS: the gateway's leaf certificate and the CA roots come from the local
 * agent and are followed with blocking queries, so rotations reach new upstream connections
 * (each rotation changes `version`, which makes the proxy open fresh connection pools).
 */
export function createConnectTls(ctx: MeshContext, identity: string): ConnectTls {
  let roots: CaRoots | undefined;
  let leaf: LeafCert | undefined;
  let material: Material | undefined;
  let lastError: string | undefined;
  const loops: BlockingLoop[] = [];

  const rebuild = () => {
    if (!roots || !leaf) return;
    const ca = roots.Roots.flatMap((r) => [r.RootCert, ...(r.IntermediateCerts ?? [])]);
    const version = createHash('sha256')
      .update(ca.join('\n'))
      .update('\0')
      .update(leaf.CertPEM)
      .digest('hex')
      .slice(0, 16);
    if (material?.version === version) return;
    material = {
      ca,
      cert: leaf.CertPEM,
      key: leaf.PrivateKeyPEM,
      trustDomain: roots.TrustDomain,
      datacenter: parseServiceSpiffeId(leaf.ServiceURI)?.datacenter,
      leafValidBefore: leaf.ValidBefore,
      version,
    };
    ctx.log.info({ version, validBefore: leaf.ValidBefore }, 'consul: connect certificates loaded');
  };

  return {
    async start() {
      let settleRoots!: () => void;
      let settleLeaf!: () => void;
      const first = Promise.all([
        new Promise<void>((r) => {
          settleRoots = r;
        }),
        new Promise<void>((r) => {
          settleLeaf = r;
        }),
      ]);
      const onError =
        (operation: 'ca_roots' | 'ca_leaf', settle: () => void) => (err: unknown, attempt: number) => {
          ctx.metrics.error(operation);
          lastError = describeError(err);
          if (attempt === 1)
            ctx.log.warn({ operation, error: lastError }, 'consul: connect certificate read failed');
          settle();
        };
      loops.push(
        blockingLoop<CaRoots>({
          read: (p) => ctx.api.caRoots(p),
          wait: ctx.config.wait,
          backoff: ctx.config.backoff,
          onAnswer(body) {
            lastError = undefined;
            if (body && Array.isArray(body.Roots) && body.Roots.length > 0) {
              roots = body;
              rebuild();
            }
            settleRoots();
          },
          onError: onError('ca_roots', () => settleRoots()),
        }),
        blockingLoop<LeafCert>({
          read: (p) => ctx.api.leaf(identity, p),
          wait: ctx.config.wait,
          backoff: ctx.config.backoff,
          onAnswer(body) {
            lastError = undefined;
            if (body?.CertPEM && body.PrivateKeyPEM) {
              leaf = body;
              rebuild();
            }
            settleLeaf();
          },
          onError: onError('ca_leaf', () => settleLeaf()),
        }),
      );
      await first;
    },

    async stop() {
      for (const loop of loops) loop.stop();
      await Promise.all(loops.map((l) => l.done));
      loops.length = 0;
    },

    provider(serviceName, service) {
      const own = consulOptionsOf(service);
      const consulService = own.service ?? serviceName;
      const namespace = own.ns ?? 'default';
      const expected = () =>
        material &&
        serviceSpiffeId({
          trustDomain: material.trustDomain,
          namespace,
          datacenter: own.dc ?? ctx.config.datacenter ?? material.datacenter ?? 'dc1',
          service: consulService,
        });
      const checkServerIdentity = spiffeIdentityCheck(expected);
      let cached: (TlsOptions & { version: string }) | undefined;
      return {
        current() {
          const m = material;
          if (!m) return undefined;
          if (cached?.version !== m.version) {
            cached = {
              ca: m.ca,
              cert: m.cert,
              key: m.key,
              rejectUnauthorized: true,
              checkServerIdentity,
              version: m.version,
            };
          }
          return cached;
        },
      };
    },

    async health() {
      return {
        healthy: material !== undefined,
        detail: {
          connect: material ? 'ready' : 'waiting for certificates',
          ...(material ? { version: material.version, leafValidBefore: material.leafValidBefore } : {}),
          ...(lastError ? { lastError } : {}),
        },
      };
    },
  };
}
