import { performance } from 'node:perf_hooks';
import type { GatewayMetrics } from '../observability/metrics.js';
import type { RoutedContext } from '../types.js';
import type { RequestOutcome, UpstreamPool } from '../upstream/pool.js';
import type { TargetState } from '../upstream/target-state.js';
import { classifyUpstreamError, errorCode, retryableFailure, toGatewayError } from './upstream-error.js';

const NONE: readonly TargetState[] = [];

/** How one attempt ended when it did not throw; `at` is when the upstream answered (default: now). */
export interface AttemptResult {
  outcome: Extract<RequestOutcome, 'ok' | 'http-5xx' | 'aborted'>;
  at?: number;
  /** The upstream's status (for the attempt's span). */
  status?: number;
}

export interface AttemptPolicy {
  pool: UpstreamPool;
  metrics: GatewayMetrics;
  serviceName: string;
  /** Retries this request may have (0 when it must not be sent twice). */
  retries: number;
  /** True once anything reached the client (or it left): then no retry. */
  committed(): boolean;
  /** Record each attempt in its target's request window (plain HTTP; a tunnel's life is no request). */
  recordWindow: boolean;
  /** Whether this failure may be tried again (default: it came before any answer, see `retryableFailure`). */
  retryable?: (err: unknown) => boolean;
  /**
   * The deadline is the client's own (shorter than the route's timeout): its expiry says nothing
   * about the target, so it is not counted against it (else short deadlines could open breakers).
   */
  clientDeadline?: boolean;
}

/**
 * The one attempt loop of HTTP and WebSocket alike: pick a target, try, report the outcome to the
 * pool and the metrics, and retry on another target only when the failure came before any answer,
 * nothing reached the client, and attempts and budget are left.
 */
export async function withRetries(
  ctx: RoutedContext,
  policy: AttemptPolicy,
  attempt: (state: TargetState, fresh: boolean) => Promise<AttemptResult>,
): Promise<void> {
  const { pool, metrics, serviceName } = policy;
  let tried = NONE;
  let fresh = false;
  let retryReason: string | undefined;
  for (;;) {
    const state = pool.pick(tried);
    ctx.target = state.target;
    const span = ctx.trace?.attempt(state.target, {
      number: tried.length + 1,
      retryReason,
      breaker: state.breaker,
    });
    if (span !== undefined) ctx.traceparent = span.traceparent;
    const started = performance.now();
    try {
      const result = await attempt(state, fresh);
      span?.end({ status: result.status });
      pool.release(state, result.outcome);
      if (result.outcome !== 'aborted') {
        const ended = result.at ?? performance.now();
        metrics.upstreamFinished(serviceName, (ended - started) / 1000, 'ok');
        // The clock read above, as epoch ms: a second clock read costs more than the recording.
        if (policy.recordWindow)
          state.window.record(ended - started, result.outcome === 'http-5xx', performance.timeOrigin + ended);
      }
      return;
    } catch (err) {
      const code = errorCode(err);
      span?.end({ error: code ?? 'error' });
      if (code === 'LUCID_CLIENT_ABORTED') {
        pool.release(state, 'aborted');
        return;
      }
      if (code === 'LUCID_UPSTREAM_DEADLINE' && policy.clientDeadline === true) {
        pool.release(state, 'aborted');
        throw toGatewayError(err, serviceName);
      }
      const outcome = classifyUpstreamError(err);
      pool.release(state, outcome);
      const ended = performance.now();
      metrics.upstreamFinished(serviceName, (ended - started) / 1000, outcome);
      if (policy.recordWindow) state.window.record(ended - started, true, performance.timeOrigin + ended);
      if (
        tried.length < policy.retries &&
        !policy.committed() &&
        (policy.retryable ?? retryableFailure)(err) &&
        pool.tryRetry(state, outcome)
      ) {
        tried = [...tried, state];
        retryReason = code ?? outcome;
        ctx.log.debug({ target: state.target.id, code: errorCode(err), retry: tried.length }, 'retrying');
        // A lost pooled connection: its idle siblings may be closing too, so retry on a new one.
        fresh = outcome === 'error';
        continue;
      }
      if (ctx.res.headersSent) {
        ctx.log.warn({ target: state.target.id, code: errorCode(err) }, 'upstream failed mid-response');
      }
      throw toGatewayError(err, serviceName);
    }
  }
}
