import type { ComponentHealth, Discovery, ServiceConfig, Target } from '@lucid/gateway-core';
import { blockingLoop } from '../client/blocking-loop.js';
import type { HealthEntry } from '../client/types.js';
import { consulOptionsOf } from '../config/plugin-schema.js';
import type { MeshContext } from '../context.js';
import { describeError } from '../observability/log.js';
import { targetsKey, toTargets } from './targets.js';

/** Why a service's targets are not fresh: Consul failed, or answered with no healthy instance. */
export type StaleReason = 'error' | 'empty';

export interface ServiceDiscoveryState {
  /** The Consul service followed. */
  consulService: string;
  targets: number;
  stale: boolean;
  reason?: StaleReason;
  /** When the targets became stale (ISO time). */
  staleSince?: string;
  lastError?: string;
}

export interface ConsulDiscovery extends Discovery {
  health(): Promise<ComponentHealth>;
  /** Per gateway service, what discovery knows now. */
  state(): Record<string, ServiceDiscoveryState>;
  /** Resolves once every watched service had its first answer or its first failure. */
  settled(): Promise<void>;
  /** Calls `listener` after every answer or failure of any watch; returns an unsubscribe function. */
  subscribe(listener: () => void): () => void;
  /** Stops every watch (their stop functions become no-ops). */
  stopAll(): Promise<void>;
}

interface Watch {
  serviceName: string;
  state: ServiceDiscoveryState;
  key: string | undefined;
  last: Target[];
  first: Promise<void>;
  stop(): Promise<void>;
}

/**
 * Follows each `discovery: consul` service's healthy instances with blocking queries on
 * `/v1/health/service/<name>?passing` (or `/v1/health/connect/<name>` with Connect), and
 * pushes each changed target list. When Consul fails, or answers with no instance at all while
 * targets were known, the last known targets stay in use and the service is reported stale.
 */
export function createDiscovery(ctx: MeshContext): ConsulDiscovery {
  const watches = new Set<Watch>();
  /** Last targets per query, so a new watch of the same query (a config reload) starts with them. */
  const lastKnown = new Map<string, Target[]>();
  const listeners = new Set<() => void>();
  const notify = () => {
    for (const listener of listeners) listener();
  };
  const connect = ctx.config.connect?.enabled === true;

  const updateStaleMetric = () => {
    let stale = 0;
    for (const w of watches) if (w.state.stale) stale += 1;
    ctx.metrics.staleServices(stale);
  };

  function watch(
    serviceName: string,
    onTargets: (targets: Target[]) => void,
    options: { service: ServiceConfig },
  ) {
    const svc = options.service;
    const own = consulOptionsOf(svc);
    const consulService = own.service ?? serviceName;
    const useConnect = connect && !svc.tls;
    const scheme = useConnect || svc.tls ? 'https' : 'http';
    const query = {
      service: consulService,
      tag: own.tag,
      dc: own.dc ?? ctx.config.datacenter,
      ns: own.ns,
      connect: useConnect,
    };
    const queryKey = JSON.stringify([query, scheme]);
    let settle!: () => void;
    const w: Watch = {
      serviceName,
      state: { consulService, targets: 0, stale: false },
      key: undefined,
      last: [],
      first: new Promise<void>((resolve) => {
        settle = resolve;
      }),
      stop: async () => {},
    };

    const push = (targets: Target[]) => {
      w.key = targetsKey(targets);
      w.last = targets;
      lastKnown.set(queryKey, targets);
      w.state.targets = targets.length;
      try {
        onTargets(targets);
      } catch (err) {
        ctx.log.error({ err, service: serviceName }, 'consul: applying targets failed');
      }
    };

    const markStale = (reason: StaleReason, error?: string) => {
      const was = w.state.stale;
      w.state = {
        ...w.state,
        stale: true,
        reason,
        staleSince: was ? w.state.staleSince : new Date().toISOString(),
        ...(error ? { lastError: error } : {}),
      };
      if (!was) {
        updateStaleMetric();
        ctx.log.warn(
          { service: serviceName, consulService, reason, error, keptTargets: w.last.length },
          'consul: targets are stale, keeping the last known ones',
        );
      }
    };

    const markFresh = () => {
      if (!w.state.stale) return;
      w.state = { consulService, targets: w.state.targets, stale: false };
      updateStaleMetric();
      ctx.log.info({ service: serviceName, consulService }, 'consul: targets are fresh again');
    };

    const loop = blockingLoop<HealthEntry[]>({
      read: (params) => ctx.api.health(query, params),
      wait: ctx.config.wait,
      backoff: ctx.config.backoff,
      onAnswer(entries) {
        const targets = toTargets(entries, scheme);
        if (targets.length === 0 && w.last.length > 0) {
          markStale('empty');
        } else {
          markFresh();
          if (targetsKey(targets) !== w.key) push(targets);
        }
        settle();
        notify();
      },
      onError(err, attempt) {
        ctx.metrics.error('health');
        const error = describeError(err);
        markStale('error', error);
        if (attempt > 1)
          ctx.log.debug({ service: serviceName, error, attempt }, 'consul: health query failed');
        settle();
        notify();
      },
    });

    w.stop = async () => {
      if (!watches.delete(w)) return;
      loop.stop();
      settle();
      updateStaleMetric();
      await loop.done;
    };
    watches.add(w);
    const known = lastKnown.get(queryKey);
    if (known) push(known);
    return () => {
      void w.stop();
    };
  }

  function state(): Record<string, ServiceDiscoveryState> {
    const out: Record<string, ServiceDiscoveryState> = {};
    for (const w of watches) out[w.serviceName] = { ...w.state };
    return out;
  }

  return {
    name: 'consul',
    watch,
    state,
    async health() {
      const services = state();
      const stale = Object.keys(services).filter((name) => services[name]!.stale);
      return { healthy: stale.length === 0, detail: { services, ...(stale.length ? { stale } : {}) } };
    },
    subscribe(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    async settled() {
      await Promise.all([...watches].map((w) => w.first));
    },
    async stopAll() {
      await Promise.all([...watches].map((w) => w.stop()));
    },
  };
}
