import { describe, expect, it } from 'vitest';
import {
  classifyUpstreamError,
  retryableFailure,
  toGatewayError,
  UpstreamDeadlineError,
  UpstreamRefusedStreamError,
  UpstreamStreamResetError,
} from './upstream-error.js';

describe('upstream errors of HTTP/2 exchanges', () => {
  it('a deadline is a timeout (504), never retried', () => {
    const err = new UpstreamDeadlineError(100);
    expect(err.code).toBe('LUCID_UPSTREAM_DEADLINE');
    expect(classifyUpstreamError(err)).toBe('timeout');
    expect(retryableFailure(err)).toBe(false);
    expect(toGatewayError(err, 'grpc').code).toBe('GW_UPSTREAM_TIMEOUT');
  });

  it('a refused stream was not processed: unavailable (503) and retryable', () => {
    const err = new UpstreamRefusedStreamError();
    expect(classifyUpstreamError(err)).toBe('unavailable');
    expect(retryableFailure(err)).toBe(true);
    expect(toGatewayError(err, 'grpc').code).toBe('GW_UPSTREAM_UNAVAILABLE');
  });

  it('a session going away before the stream was sent is retryable', () => {
    for (const code of ['ERR_HTTP2_GOAWAY_SESSION', 'ERR_HTTP2_INVALID_SESSION']) {
      expect(retryableFailure(Object.assign(new Error(code), { code }))).toBe(true);
    }
  });

  it('any other stream reset may have been acted on: an error (502), not retried', () => {
    const err = new UpstreamStreamResetError(2);
    expect(classifyUpstreamError(err)).toBe('error');
    expect(retryableFailure(err)).toBe(false);
    expect(toGatewayError(err, 'grpc').code).toBe('GW_UPSTREAM_ERROR');
  });
});
