import { ConfigError } from '@lucid/gateway-core';
import { afterEach, describe, expect, it } from 'vitest';
import { consulAddressFromEnv, normalizeConsulUrl } from '../src/config/env.js';
import { meshConfigSchema, parseMeshConfig } from '../src/index.js';

const saved = { ...process.env };
afterEach(() => {
  for (const key of ['CONSUL_HTTP_ADDR', 'CONSUL_HTTP_TOKEN', 'CONSUL_HTTP_SSL']) {
    if (saved[key] === undefined) delete process.env[key];
    else process.env[key] = saved[key];
  }
});

describe('mesh config', () => {
  it('fills the documented defaults', () => {
    delete process.env.CONSUL_HTTP_ADDR;
    delete process.env.CONSUL_HTTP_TOKEN;
    const { consul } = meshConfigSchema.parse({});
    expect(consul.url).toBe('http://127.0.0.1:8500');
    expect(consul.token).toBeUndefined();
    expect(consul.wait).toBe(55_000);
    expect(consul.register).toBeUndefined();
    expect(consul.connect).toBeUndefined();
  });

  it('fills register and its check from an empty block', () => {
    const { consul } = meshConfigSchema.parse({ consul: { register: {} } });
    expect(consul.register).toEqual({
      name: 'lucid-api-gateway',
      tags: [],
      meta: {},
      check: { path: '/health/ready', interval: 10_000, timeout: 5_000, deregisterAfter: 600_000 },
    });
  });

  it('reads durations written the human way', () => {
    const { consul } = meshConfigSchema.parse({
      consul: { wait: '2m', register: { check: { interval: '3s', deregisterAfter: '1m' } } },
    });
    expect(consul.wait).toBe(120_000);
    expect(consul.register?.check.interval).toBe(3_000);
    expect(consul.register?.check.deregisterAfter).toBe(60_000);
  });

  it('honours CONSUL_HTTP_ADDR (host:port or URL, CONSUL_HTTP_SSL) and CONSUL_HTTP_TOKEN', () => {
    process.env.CONSUL_HTTP_ADDR = 'consul.internal:8501';
    process.env.CONSUL_HTTP_SSL = 'true';
    process.env.CONSUL_HTTP_TOKEN = 'secret-token';
    const { consul } = meshConfigSchema.parse({});
    expect(consul.url).toBe('https://consul.internal:8501');
    expect(consul.token).toBe('secret-token');
    expect(consulAddressFromEnv({ CONSUL_HTTP_ADDR: 'http://10.0.0.1:8500' })).toBe('http://10.0.0.1:8500');
  });

  it('lets the config win over the environment', () => {
    process.env.CONSUL_HTTP_ADDR = 'consul.internal:8500';
    process.env.CONSUL_HTTP_TOKEN = 'env-token';
    const { consul } = meshConfigSchema.parse({
      consul: { url: 'http://127.0.0.1:9500/', token: 'cfg-token' },
    });
    expect(consul.url).toBe('http://127.0.0.1:9500');
    expect(consul.token).toBe('cfg-token');
  });

  it('connect defaults to enabled when its block is present', () => {
    const { consul } = meshConfigSchema.parse({ consul: { connect: {} } });
    expect(consul.connect).toEqual({ enabled: true });
  });

  it('names the path and a fix in errors', () => {
    const error = (input: unknown) => {
      try {
        parseMeshConfig(input as never);
      } catch (err) {
        expect(err).toBeInstanceOf(ConfigError);
        return (err as ConfigError).issues;
      }
      throw new Error('expected a ConfigError');
    };
    expect(error({ consul: { wait: '20m' } })).toEqual([
      { path: 'mesh.consul.wait', message: 'wait is between "1s" and "10m"' },
    ]);
    expect(error({ consul: { url: 'ftp://x' } })[0]?.path).toBe('mesh.consul.url');
    expect(error({ consul: { tls: { cert: '/c.pem' } } })[0]).toEqual({
      path: 'mesh.consul.tls',
      message: 'a client certificate needs both "cert" and "key"',
    });
    expect(error({ consul: { url: 'http://consul:8500', tls: { ca: '/ca.pem' } } })[0]).toEqual({
      path: 'mesh.consul.tls',
      message: 'TLS settings need an https:// url (got http://consul:8500)',
    });
    expect(error({ consul: { regster: {} } })[0]).toEqual({
      path: 'mesh.consul.regster',
      message: 'unknown key (did you mean "register"?)',
    });
  });

  it('normalizes agent addresses', () => {
    expect(normalizeConsulUrl('127.0.0.1:8500')).toBe('http://127.0.0.1:8500');
    expect(normalizeConsulUrl('https://consul:8501/')).toBe('https://consul:8501');
    expect(normalizeConsulUrl('http://consul:8500/v1')).toBeUndefined();
    expect(normalizeConsulUrl('unix:///var/run/consul.sock')).toBeUndefined();
  });
});
