import { Writable } from 'node:stream';
import { stripVTControlCharacters } from 'node:util';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { prettyDestination } from './pretty.js';

/** A pretty logger writing into a string, colors on (as on a terminal). */
function prettyLogger() {
  let text = '';
  const out = new Writable({
    write(chunk, _enc, cb) {
      text += chunk.toString();
      cb();
    },
  });
  const stream = prettyDestination(out);
  if (!stream) throw new Error('pino-pretty is a dev dependency of core: it should load here');
  const logger = pino({ base: { name: 'lucid-gateway' } }, stream);
  return { logger, text: () => text };
}

const access = {
  reqId: 'r-1',
  method: 'GET',
  path: '/admin/users',
  route: '/admin',
  status: 200,
  ms: 3.14,
  upstream: 'admin-1',
  bytes: 120,
  ip: '127.0.0.1',
};
const plain = (s: string) => stripVTControlCharacters(s);

describe('pretty logs on a terminal', () => {
  it('prints one compact line per request: method, path, status, time, target, request id', () => {
    const { logger, text } = prettyLogger();
    logger.info(access, 'request');
    logger.info({ ...access, reqId: 'r-2', status: 503, upstream: null }, 'request');
    const lines = text().trimEnd().split('\n');
    expect(lines).toHaveLength(2);
    expect(plain(lines[0]!)).toMatch(/INFO.*GET \/admin\/users 200 3\.14ms -> admin-1 \(req r-1\)$/);
    expect(plain(lines[1]!)).toMatch(/GET \/admin\/users 503 3\.14ms \(req r-2\)$/);
    expect(text()).not.toContain('127.0.0.1');
    expect(text()).not.toContain('"bytes"');
  });

  it("adds a gRPC call's status, and hides the HTTP version like the other access fields", () => {
    const { logger, text } = prettyLogger();
    logger.info(
      { ...access, method: 'POST', path: '/lucid.Echo/Unary', http: '2.0', grpcStatus: 14 },
      'request',
    );
    logger.info({ ...access, http: '1.1' }, 'request');
    const [grpc, http] = text().trimEnd().split('\n').map(plain);
    expect(grpc).toMatch(/POST \/lucid.Echo\/Unary 200 grpc-status 14 3\.14ms -> admin-1 \(req r-1\)$/);
    expect(http).toMatch(/GET \/admin\/users 200 3\.14ms -> admin-1 \(req r-1\)$/);
    expect(text()).not.toContain('"http"');
  });

  it('colors the status by class', () => {
    const { logger, text } = prettyLogger();
    logger.info({ ...access, status: 200 }, 'request');
    logger.info({ ...access, status: 502 }, 'request');
    const [ok, bad] = text().trimEnd().split('\n');
    expect(ok).toContain('\x1b[32m200');
    expect(bad).toContain('\x1b[31m502');
  });

  it('keeps other lines on one line with their fields, the hidden access names included', () => {
    const { logger, text } = prettyLogger();
    logger.info({ port: 8080, status: 'up' }, 'gateway listening');
    logger.warn(
      { store: 'redis', reason: 'Redis unreachable (connection refused)' },
      'rate-limit store failed',
    );
    const lines = text().trimEnd().split('\n').map(plain);
    expect(lines).toHaveLength(2);
    expect(lines[0]).toMatch(/gateway listening status="up".*"port":8080/);
    expect(lines[1]).toMatch(/WARN.*rate-limit store failed.*Redis unreachable \(connection refused\)/);
  });
});
