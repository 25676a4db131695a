import { healthMessages } from '@lucid/test-kit/grpc';
import { describe, expect, it } from 'vitest';
import { frame } from './frame.js';
import { decodeHealthCheckResponse, encodeHealthCheckRequest, ServingStatus } from './health-codec.js';

describe('gRPC health codec', () => {
  it('encodes HealthCheckRequest as protobufjs does, framed', () => {
    for (const name of ['lucid.test.Echo', 'é'.repeat(100), 'x'.repeat(300)]) {
      expect(encodeHealthCheckRequest(name)).toEqual(frame(healthMessages.request(name)));
    }
    // The whole server: the empty message, which protobufjs reads as service "".
    expect(encodeHealthCheckRequest('')).toEqual(Buffer.from([0, 0, 0, 0, 0]));
    expect(healthMessages.readRequest(Buffer.alloc(0))).toEqual({ service: '' });
  });

  it('decodes the status of every HealthCheckResponse', () => {
    expect(decodeHealthCheckResponse(frame(healthMessages.response('SERVING')))).toBe(ServingStatus.SERVING);
    expect(decodeHealthCheckResponse(frame(healthMessages.response('NOT_SERVING')))).toBe(
      ServingStatus.NOT_SERVING,
    );
    expect(decodeHealthCheckResponse(frame(healthMessages.response('SERVICE_UNKNOWN')))).toBe(3);
    // proto3 leaves a default (0) value out: the empty message is UNKNOWN.
    expect(decodeHealthCheckResponse(frame(healthMessages.response('UNKNOWN')))).toBe(ServingStatus.UNKNOWN);
  });

  it('skips fields it does not know, of every wire type', () => {
    const unknown = Buffer.from([
      0x10,
      0x96,
      0x01, // field 2 varint 150
      0x1a,
      0x03,
      0x61,
      0x62,
      0x63, // field 3 bytes "abc"
      0x21,
      1,
      2,
      3,
      4,
      5,
      6,
      7,
      8, // field 4 fixed64
      0x2d,
      1,
      2,
      3,
      4, // field 5 fixed32
    ]);
    const message = Buffer.concat([unknown, healthMessages.response('SERVING')]);
    expect(decodeHealthCheckResponse(frame(message))).toBe(ServingStatus.SERVING);
  });

  it('refuses what is not one whole uncompressed message', () => {
    const ok = frame(healthMessages.response('SERVING'));
    expect(() => decodeHealthCheckResponse(ok.subarray(0, ok.length - 1))).toThrow();
    expect(() => decodeHealthCheckResponse(Buffer.concat([ok, ok]))).toThrow();
    expect(() => decodeHealthCheckResponse(Buffer.from([1, 0, 0, 0, 2, 8, 1]))).toThrow(/compressed/);
    expect(() => decodeHealthCheckResponse(frame(Buffer.from([0x08, 0x80])))).toThrow(/truncated/);
    expect(() => decodeHealthCheckResponse(frame(Buffer.from([0x0b])))).toThrow(/wire type/);
    expect(() => decodeHealthCheckResponse(frame(Buffer.from([0x12, 0x05, 0x01])))).toThrow(/truncated/);
  });
});
