import { performance } from 'node:perf_hooks';
import type { TargetState, UpstreamPool, WindowSummary } from '@lucid/gateway-core';
import type { RemovedTarget, RemovedTargets } from './removed-targets.js';

/** Why a target is out of rotation, most fundamental first. */
export type OutReason = 'active check failing' | 'breaker open' | 'breaker half-open' | 'passively ejected';

export interface TargetView extends WindowSummary {
  /** The target's origin, as /metrics labels it. */
  id: string;
  /** up: in rotation; down: out of it (see `reason`); removed: discovery took it away. */
  status: 'up' | 'down' | 'removed';
  reason: OutReason | 'removed by discovery' | null;
  /** ISO time the target last went in or out of rotation (or joined the pool, or was removed). */
  since: string | null;
  /** ISO time an ejection or an open breaker ends by itself. */
  until: string | null;
  weight: number | null;
  inFlight: number;
  breaker: 'closed' | 'open' | 'half-open';
  lastCheck: { at: string; ok: boolean; latencyMs: number } | null;
}

export interface ServiceView {
  name: string;
  /** At least one target in rotation. */
  up: boolean;
  targets: TargetView[];
}

function iso(ms: number): string | null {
  return ms > 0 ? new Date(ms).toISOString() : null;
}

/** Why a target is out of rotation, or null when it is in. */
export function outReason(s: TargetState, now: number): OutReason | null {
  if (!s.healthy) return 'active check failing';
  if (s.breaker === 'open') return now < s.breakerOpenUntil ? 'breaker open' : 'breaker half-open';
  if (s.breaker === 'half-open') return 'breaker half-open';
  if (s.ejectedUntil > now) return 'passively ejected';
  return null;
}

export function describeTarget(s: TargetState, now: number): TargetView {
  const reason = outReason(s, now);
  const until =
    reason === 'breaker open' ? s.breakerOpenUntil : reason === 'passively ejected' ? s.ejectedUntil : 0;
  return {
    id: s.target.id,
    status: reason === null ? 'up' : 'down',
    reason,
    since: iso(s.changedAt),
    until: iso(until),
    weight: s.target.weight,
    inFlight: s.inFlight,
    breaker: s.breaker === 'open' && s.breakerOpenUntil <= now ? 'half-open' : s.breaker,
    lastCheck: s.lastCheck
      ? { at: new Date(s.lastCheck.at).toISOString(), ok: s.lastCheck.ok, latencyMs: s.lastCheck.latencyMs }
      : null,
    // The window runs on the clock the proxy records with (monotonic), not on the wall clock.
    ...s.window.summary(performance.timeOrigin + performance.now()),
  };
}

function describeRemoved(r: RemovedTarget): TargetView {
  return {
    id: r.id,
    status: 'removed',
    reason: 'removed by discovery',
    since: iso(r.at),
    until: null,
    weight: null,
    inFlight: 0,
    breaker: 'closed',
    lastCheck: null,
    requests: 0,
    errors: 0,
    p50Ms: null,
    p99Ms: null,
  };
}

/** One service as the dashboard shows it: its targets in the pool, then those discovery removed. */
export function describeService(pool: UpstreamPool, removed: RemovedTargets, now: number): ServiceView {
  const states = pool.states();
  const targets = states.map((s) => describeTarget(s, now));
  const present = new Set(states.map((s) => s.target.id));
  return {
    name: pool.name,
    up: targets.some((t) => t.status === 'up'),
    targets: [...targets, ...removed.of(pool.name, present).map(describeRemoved)],
  };
}
