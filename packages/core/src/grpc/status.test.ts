import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { CORE_ERRORS, GatewayError } from '../errors.js';
import { decodeGrpcMessage, encodeGrpcMessage, GrpcStatus, grpcStatusOf, parseGrpcStatus } from './status.js';

describe('grpcStatusOf', () => {
  it.each([
    ['GW_ROUTE_NOT_FOUND', GrpcStatus.UNIMPLEMENTED],
    ['GW_METHOD_NOT_ALLOWED', GrpcStatus.UNIMPLEMENTED],
    ['GW_UNAUTHORIZED', GrpcStatus.UNAUTHENTICATED],
    ['GW_FORBIDDEN', GrpcStatus.PERMISSION_DENIED],
    ['GW_RATE_LIMITED', GrpcStatus.RESOURCE_EXHAUSTED],
    ['GW_BODY_TOO_LARGE', GrpcStatus.RESOURCE_EXHAUSTED],
    ['GW_UPSTREAM_UNAVAILABLE', GrpcStatus.UNAVAILABLE],
    ['GW_UPSTREAM_ERROR', GrpcStatus.UNAVAILABLE],
    ['GW_UPSTREAM_TIMEOUT', GrpcStatus.DEADLINE_EXCEEDED],
    ['GW_REQUEST_TIMEOUT', GrpcStatus.DEADLINE_EXCEEDED],
    ['GW_BAD_PATH', GrpcStatus.INVALID_ARGUMENT],
    ['GW_BAD_REQUEST', GrpcStatus.INVALID_ARGUMENT],
    ['GW_HOST_NOT_ALLOWED', GrpcStatus.INVALID_ARGUMENT],
    ['GW_INTERNAL', GrpcStatus.INTERNAL],
  ] as const)('%s is %i', (code, status) => {
    expect(grpcStatusOf(new GatewayError(code))).toBe(status);
  });

  it('gives every core code a status other than OK', () => {
    for (const code of Object.keys(CORE_ERRORS)) expect(grpcStatusOf(new GatewayError(code))).not.toBe(0);
  });

  it('maps an unlisted status to UNKNOWN, never OK', () => {
    expect(grpcStatusOf({ status: 418 })).toBe(GrpcStatus.UNKNOWN);
    expect(grpcStatusOf({ status: 507 })).toBe(GrpcStatus.UNKNOWN);
  });
});

describe('grpc-message encoding', () => {
  it('leaves printable ASCII as it is and percent-encodes %, controls and non-ASCII as UTF-8', () => {
    expect(encodeGrpcMessage('no route for /x.Y/Z')).toBe('no route for /x.Y/Z');
    expect(encodeGrpcMessage('50% off')).toBe('50%25 off');
    expect(encodeGrpcMessage('a\r\nb\tc')).toBe('a%0D%0Ab%09c');
    expect(encodeGrpcMessage('café ✓')).toBe('caf%C3%A9 %E2%9C%93');
  });

  it('round-trips any text and only ever emits printable ASCII', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'grapheme' }), (text) => {
        const encoded = encodeGrpcMessage(text);
        expect(encoded).toMatch(/^[\x20-\x7e]*$/);
        expect(decodeGrpcMessage(encoded)).toBe(text);
      }),
    );
  });

  it('keeps a malformed escape as it is when decoding', () => {
    expect(decodeGrpcMessage('100%')).toBe('100%');
    expect(decodeGrpcMessage('%zz%4')).toBe('%zz%4');
  });
});

describe('parseGrpcStatus', () => {
  it('reads codes 0-16 and calls anything else UNKNOWN', () => {
    expect(parseGrpcStatus('0')).toBe(0);
    expect(parseGrpcStatus('14')).toBe(14);
    expect(parseGrpcStatus(['16'])).toBe(16);
    expect(parseGrpcStatus('17')).toBe(GrpcStatus.UNKNOWN);
    expect(parseGrpcStatus('-1')).toBe(GrpcStatus.UNKNOWN);
    expect(parseGrpcStatus('ok')).toBe(GrpcStatus.UNKNOWN);
    expect(parseGrpcStatus(undefined)).toBeUndefined();
  });
});
