import type { IncomingMessage } from 'node:http';
import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import type { GatewayContext } from '../types.js';
import { accessLog, logAccess } from './access-log.js';
import { createLogger } from './logger.js';

function capture() {
  const lines: Record<string, unknown>[] = [];
  const stream = new Writable({
    write(chunk, _enc, cb) {
      for (const line of chunk.toString().split('\n')) if (line) lines.push(JSON.parse(line));
      cb();
    },
  });
  return { logger: createLogger({ level: 'info', pretty: false, accessLog: true }, stream), lines };
}

const req = {
  method: 'POST',
  httpVersion: '1.1',
  url: '/auth/login?token=secret-q',
  headers: { authorization: 'Bearer secret-h', cookie: 'sid=secret-c' },
} as unknown as IncomingMessage;

function ctxOf(extra: Partial<GatewayContext>): GatewayContext {
  return {
    req,
    requestId: 'req-1',
    clientIp: '203.0.113.7',
    path: '/auth/login',
    startedAt: performance.now() - 12.3456,
    ...extra,
  } as GatewayContext;
}

describe('logAccess', () => {
  it('writes exactly the request fields, without headers or query', () => {
    const { logger, lines } = capture();
    const route = { route: { id: '/auth' } } as GatewayContext['route'];
    const target = { id: 'http://127.0.0.1:8089', url: new URL('http://127.0.0.1:8089'), weight: 1 };
    logAccess(logger, ctxOf({ route, target }), 201, 42);

    expect(lines).toHaveLength(1);
    const line = lines[0]!;
    expect(line).toMatchObject({
      msg: 'request',
      level: 'info',
      reqId: 'req-1',
      method: 'POST',
      path: '/auth/login',
      route: '/auth',
      status: 201,
      upstream: 'http://127.0.0.1:8089',
      bytes: 42,
      ip: '203.0.113.7',
    });
    expect(line.ms).toBeGreaterThanOrEqual(12.34);
    expect(Number.isInteger((line.ms as number) * 100)).toBe(true);
    expect(Object.keys(line).sort()).toEqual(
      [
        'bytes',
        'http',
        'ip',
        'level',
        'method',
        'ms',
        'msg',
        'name',
        'path',
        'reqId',
        'route',
        'status',
        'time',
        'upstream',
      ].sort(),
    );
    expect(JSON.stringify(line)).not.toMatch(/secret-/);
  });

  it('logs unrouted requests with null route and upstream', () => {
    const { logger, lines } = capture();
    logAccess(logger, ctxOf({ route: undefined as unknown as GatewayContext['route'] }), 404, 120);
    expect(lines[0]).toMatchObject({ route: null, upstream: null, status: 404, bytes: 120 });
  });
});

describe('accessLog', () => {
  it('writes the same line as pino would for a logger made by createLogger', () => {
    const fast = capture();
    const slow = capture();
    const ctx = ctxOf({ route: { route: { id: '/auth' } } as GatewayContext['route'] });
    accessLog(fast.logger)(ctx, 201, 42);
    logAccess(slow.logger, ctx, 201, 42);
    const [a, b] = [fast.lines[0]!, slow.lines[0]!];
    expect(Object.keys(a)).toEqual(Object.keys(b));
    expect({ ...a, time: 0, ms: 0 }).toEqual({ ...b, time: 0, ms: 0 });
    expect(a).toMatchObject({
      level: 'info',
      name: 'lucid-gateway',
      msg: 'request',
      status: 201,
      route: '/auth',
    });
  });

  it('adds grpcStatus on gRPC calls only, the same line as pino would write', () => {
    for (const [grpc, grpcStatus] of [
      ['grpc', 14],
      ['grpc-web-text', undefined],
    ] as const) {
      const fast = capture();
      const slow = capture();
      const ctx = ctxOf({ grpc, grpcStatus });
      accessLog(fast.logger)(ctx, 200, 0);
      logAccess(slow.logger, ctx, 200, 0);
      const [a, b] = [fast.lines[0]!, slow.lines[0]!];
      expect(Object.keys(a)).toEqual(Object.keys(b));
      expect({ ...a, time: 0, ms: 0 }).toEqual({ ...b, time: 0, ms: 0 });
      expect(a.grpcStatus).toBe(grpcStatus ?? null);
    }
    const plain = capture();
    accessLog(plain.logger)(ctxOf({}), 200, 0);
    expect(plain.lines[0]).not.toHaveProperty('grpcStatus');
  });

  it('adds traceId and spanId when a tracer follows the request, the same line as pino would write', () => {
    const fast = capture();
    const slow = capture();
    const trace = { traceId: '4bf92f3577b34da6a3ce929d0e0e4736', spanId: '00f067aa0ba902b7' };
    const ctx = ctxOf({ trace: trace as GatewayContext['trace'] });
    accessLog(fast.logger)(ctx, 200, 0);
    logAccess(slow.logger, ctx, 200, 0);
    const [a, b] = [fast.lines[0]!, slow.lines[0]!];
    expect(Object.keys(a)).toEqual(Object.keys(b));
    expect({ ...a, time: 0, ms: 0 }).toEqual({ ...b, time: 0, ms: 0 });
    expect(a).toMatchObject(trace);
    const plain = capture();
    accessLog(plain.logger)(ctxOf({}), 200, 0);
    expect(plain.lines[0]).not.toHaveProperty('traceId');
  });

  it('escapes what needs escaping and follows the logger level', () => {
    const { logger, lines } = capture();
    const log = accessLog(logger);
    log(ctxOf({ path: '/a"b\\c' }), 200, 0);
    expect(lines[0]!.path).toBe('/a"b\\c');
    logger.level = 'warn';
    log(ctxOf({}), 200, 0);
    expect(lines).toHaveLength(1);
  });
});
