import type { OutgoingHttpHeaders } from 'node:http';
import type { ConsumeResult, Policy } from '../algorithm/gcra.js';

/** A policy with its constant header values worked out once, when the route is built. */
export interface HeaderPolicy extends Policy {
  /** The policy's name (its tier), as it appears in the RateLimit fields. */
  name: string;
  /** `"free";q=100;w=60` (draft-ietf-httpapi-ratelimit-headers). */
  policyHeader: string;
  limitHeader: string;
}

export function headerPolicy(name: string, policy: Policy): HeaderPolicy {
  return {
    name,
    limit: policy.limit,
    windowMs: policy.windowMs,
    policyHeader: `"${name}";q=${policy.limit};w=${Math.max(1, Math.ceil(policy.windowMs / 1000))}`,
    limitHeader: String(policy.limit),
  };
}

/**
 * Sets the IETF `RateLimit-Policy` and `RateLimit` fields and the common `X-RateLimit-*` ones.
 * `t` and `X-RateLimit-Reset` count seconds until the full budget is back; `X-RateLimit-Reset` is
 * a Unix time in seconds (as GitHub and most APIs send it), `t` a delta as the draft asks.
 */
export function setRateHeaders(
  headers: OutgoingHttpHeaders,
  policy: HeaderPolicy,
  result: ConsumeResult,
): void {
  const resetSeconds = Math.ceil(result.resetMs / 1000);
  headers['ratelimit-policy'] = policy.policyHeader;
  headers.ratelimit = `"${policy.name}";r=${result.remaining};t=${resetSeconds}`;
  headers['x-ratelimit-limit'] = policy.limitHeader;
  headers['x-ratelimit-remaining'] = String(result.remaining);
  headers['x-ratelimit-reset'] = String(Math.ceil((Date.now() + result.resetMs) / 1000));
}

/** Whole seconds to wait, at least 1 (`Retry-After: 0` would invite an immediate retry that fails). */
export function retryAfterSeconds(result: ConsumeResult): number {
  return Math.max(1, Math.ceil(result.retryAfterMs / 1000));
}
