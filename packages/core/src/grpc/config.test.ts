import { describe, expect, it } from 'vitest';
import { ConfigError, parseConfig } from '../config/index.js';
import { resolveHealthCheck } from '../upstream/active-checks.js';

const base = {
  services: { echo: { targets: ['http://127.0.0.1:50051'] } },
  routes: [{ prefix: '/lucid.test.Echo', service: 'echo', auth: 'public' }],
};

function issuesOf(input: unknown): string[] {
  try {
    parseConfig(input);
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return (err as ConfigError).issues.map((i) => `${i.path}: ${i.message}`);
  }
  throw new Error('expected the config to be rejected');
}

describe('gRPC config', () => {
  it('routes bridge gRPC-Web only when they say so', () => {
    expect(parseConfig(base).routes[0]!.grpcWeb).toBe(false);
    const on = parseConfig({ ...base, routes: [{ ...base.routes[0], grpcWeb: true }] });
    expect(on.routes[0]!.grpcWeb).toBe(true);
    expect(issuesOf({ ...base, routes: [{ ...base.routes[0], grpcWeb: 'yes' }] }).join('\n')).toMatch(
      /routes\[0\]\.grpcWeb/,
    );
  });

  it('health.grpc takes true or a service name, and then replaces the HTTP path', () => {
    const withGrpc = (grpc: unknown) => ({
      ...base,
      services: { echo: { ...base.services.echo, health: { grpc } } },
    });
    const whole = parseConfig(withGrpc(true)).services.echo!.health;
    expect(resolveHealthCheck(whole, { interval: 1000, timeout: 100 })).toMatchObject({
      grpc: '',
      path: undefined,
    });
    const named = parseConfig(withGrpc('lucid.sessions.v1.Sessions')).services.echo!.health;
    expect(resolveHealthCheck(named, { interval: 1000, timeout: 100 })).toMatchObject({
      grpc: 'lucid.sessions.v1.Sessions',
      path: undefined,
    });
    const off = parseConfig(withGrpc(false)).services.echo!.health;
    expect(resolveHealthCheck(off, { interval: 1000, timeout: 100 })).toMatchObject({
      grpc: undefined,
      path: '/health',
    });
    expect(issuesOf(withGrpc('')).join('\n')).toMatch(/services\.echo\.health.*gRPC service name/s);
    expect(issuesOf(withGrpc('bad name\n')).join('\n')).toMatch(/gRPC service name/);
    expect(issuesOf(withGrpc(3)).join('\n')).toMatch(/services\.echo\.health/);
  });
});
