import { describe, expect, it } from 'vitest';
import type { GatewayContext } from '../types.js';
import { grpcStatusAtEnd, grpcStatusName } from './outcome.js';

const ctxWith = (extra: Record<string, unknown>) => ({ res: {}, ...extra }) as unknown as GatewayContext;

describe('the status a gRPC call ended with', () => {
  it("prefers what the gateway noted, then the HTTP/2 stream's trailers, then its trailers-only headers", () => {
    expect(grpcStatusAtEnd(ctxWith({ grpcStatus: 7 }), 200)).toBe(7);
    const stream = { sentTrailers: { 'grpc-status': '5' }, sentHeaders: { 'grpc-status': '3' } };
    expect(grpcStatusAtEnd(ctxWith({ res: { stream } }), 200)).toBe(5);
    expect(grpcStatusAtEnd(ctxWith({ res: { stream: { sentHeaders: { 'grpc-status': '3' } } } }), 200)).toBe(
      3,
    );
  });

  it('a call cut without a status: CANCELLED when the client left, else what the HTTP status means to a client', () => {
    expect(grpcStatusAtEnd(ctxWith({ res: { stream: { sentHeaders: {} } } }), 499)).toBe(1);
    expect(grpcStatusAtEnd(ctxWith({}), 503)).toBe(14);
    expect(grpcStatusAtEnd(ctxWith({}), 404)).toBe(12);
    expect(grpcStatusAtEnd(ctxWith({}), 200)).toBe(2);
  });

  it('names statuses from a fixed set', () => {
    expect(grpcStatusName(0)).toBe('OK');
    expect(grpcStatusName(16)).toBe('UNAUTHENTICATED');
    expect(grpcStatusName(99)).toBe('UNKNOWN');
  });
});
