import { describe, expect, it } from 'vitest';
import { grpcFormat, grpcKindOf, isGrpc } from './protocol.js';

describe('grpcKindOf', () => {
  it.each([
    ['application/grpc', 'grpc'],
    ['application/grpc+proto', 'grpc'],
    ['application/grpc+json', 'grpc'],
    ['application/grpc; charset=utf-8', 'grpc'],
    ['Application/GRPC', 'grpc'],
    ['application/grpc-web', 'grpc-web'],
    ['application/grpc-web+proto', 'grpc-web'],
    ['application/grpc-web-text', 'grpc-web-text'],
    ['application/grpc-web-text+proto', 'grpc-web-text'],
    ['application/grpcx', undefined],
    ['application/grpc-webx', undefined],
    ['application/grpc-websocket', undefined],
    ['application/json', undefined],
    ['text/application/grpc', undefined],
    ['', undefined],
    [undefined, undefined],
  ] as const)('%s is %s', (type, kind) => {
    expect(grpcKindOf(type)).toBe(kind);
  });

  it('isGrpc is true for gRPC only, not gRPC-Web', () => {
    expect(isGrpc({ headers: { 'content-type': 'application/grpc+proto' } })).toBe(true);
    expect(isGrpc({ headers: { 'content-type': 'application/grpc-web' } })).toBe(false);
    expect(isGrpc({ headers: {} })).toBe(false);
  });

  it('reads the format suffix', () => {
    expect(grpcFormat('application/grpc-web-text+proto')).toBe('+proto');
    expect(grpcFormat('application/grpc+json; charset=utf-8')).toBe('+json');
    expect(grpcFormat('application/grpc-web')).toBe('');
  });
});
