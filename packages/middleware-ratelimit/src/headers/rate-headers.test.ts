import type { OutgoingHttpHeaders } from 'node:http';
import { describe, expect, it } from 'vitest';
import { headerPolicy, retryAfterSeconds, setRateHeaders } from './rate-headers.js';

describe('rate headers', () => {
  it('writes the IETF fields and the X-RateLimit ones', () => {
    const headers: OutgoingHttpHeaders = {};
    const before = Math.floor(Date.now() / 1000);
    setRateHeaders(headers, headerPolicy('premium', { limit: 1000, windowMs: 60_000 }), {
      allowed: true,
      limit: 1000,
      remaining: 998,
      resetMs: 120,
      retryAfterMs: 0,
    });
    expect(headers['ratelimit-policy']).toBe('"premium";q=1000;w=60');
    expect(headers.ratelimit).toBe('"premium";r=998;t=1');
    expect(headers['x-ratelimit-limit']).toBe('1000');
    expect(headers['x-ratelimit-remaining']).toBe('998');
    const reset = Number(headers['x-ratelimit-reset']);
    expect(reset).toBeGreaterThanOrEqual(before);
    expect(reset).toBeLessThanOrEqual(before + 2);
  });

  it('rounds windows under a second up and never says retry after 0', () => {
    expect(headerPolicy('burst', { limit: 5, windowMs: 500 }).policyHeader).toBe('"burst";q=5;w=1');
    const base = { allowed: false, limit: 1, remaining: 0, resetMs: 10 };
    expect(retryAfterSeconds({ ...base, retryAfterMs: 1 })).toBe(1);
    expect(retryAfterSeconds({ ...base, retryAfterMs: 1_001 })).toBe(2);
  });
});
