import { Registry } from 'prom-client';
import { afterEach, describe, expect, it } from 'vitest';
import { createMetrics } from './metrics.js';

const P = 'lucid_gateway_';
let registry: Registry;

afterEach(() => registry?.clear());

/** The sample lines of one metric family, e.g. `lucid_gateway_http_requests_total{...} 3`. */
async function samples(name: string): Promise<string[]> {
  const text = await registry.metrics();
  return text.split('\n').filter((l) => l.startsWith(`${name}{`) || l.startsWith(`${name} `));
}

describe('createMetrics', () => {
  it('counts requests by route, method and status class', async () => {
    registry = new Registry();
    const m = createMetrics(registry, P);
    for (const status of [200, 201, 204, 299]) {
      m.requestStarted();
      m.requestFinished('/auth', 'GET', status, 0.002);
    }
    m.requestStarted();
    m.requestFinished('/auth', 'POST', 503, 0.5);

    const total = await samples(`${P}http_requests_total`);
    expect(total).toEqual([
      `${P}http_requests_total{route="/auth",method="GET",status_class="2xx"} 4`,
      `${P}http_requests_total{route="/auth",method="POST",status_class="5xx"} 1`,
    ]);
    const count = await samples(`${P}http_request_duration_seconds_count`);
    expect(count).toContain(
      `${P}http_request_duration_seconds_count{route="/auth",method="GET",status_class="2xx"} 4`,
    );
    const buckets = await samples(`${P}http_request_duration_seconds_bucket`);
    expect(buckets).toContain(
      `${P}http_request_duration_seconds_bucket{le="0.001",route="/auth",method="GET",status_class="2xx"} 0`,
    );
    expect(buckets).toContain(
      `${P}http_request_duration_seconds_bucket{le="0.005",route="/auth",method="GET",status_class="2xx"} 4`,
    );
    expect(buckets.some((l) => l.includes('le="30"'))).toBe(true);
  });

  it('folds unknown methods and odd statuses into fixed labels', async () => {
    registry = new Registry();
    const m = createMetrics(registry, P);
    for (const method of ['PROPFIND', 'BREW', 'get']) {
      m.requestStarted();
      m.requestFinished('/files', method, 0, 0.01);
    }
    expect(await samples(`${P}http_requests_total`)).toEqual([
      `${P}http_requests_total{route="/files",method="OTHER",status_class="other"} 3`,
    ]);
  });

  it('tracks requests in flight', async () => {
    registry = new Registry();
    const m = createMetrics(registry, P);
    m.requestStarted();
    m.requestStarted();
    expect(await samples(`${P}http_requests_in_flight`)).toEqual([`${P}http_requests_in_flight 2`]);
    m.requestFinished('/a', 'GET', 200, 0.001);
    expect(await samples(`${P}http_requests_in_flight`)).toEqual([`${P}http_requests_in_flight 1`]);
  });

  it('records upstream durations by outcome and counts only failures as errors', async () => {
    registry = new Registry();
    const m = createMetrics(registry, P);
    m.upstreamFinished('auth', 0.01, 'ok');
    m.upstreamFinished('auth', 2, 'timeout');
    m.upstreamFinished('auth', 0.001, 'error');
    m.upstreamFinished('auth', 0.001, 'error');
    expect((await samples(`${P}upstream_errors_total`)).sort()).toEqual([
      `${P}upstream_errors_total{service="auth",outcome="error"} 2`,
      `${P}upstream_errors_total{service="auth",outcome="timeout"} 1`,
    ]);
    expect(await samples(`${P}upstream_duration_seconds_count`)).toContain(
      `${P}upstream_duration_seconds_count{service="auth",outcome="ok"} 1`,
    );
  });

  it('reports target health as a 0/1 gauge', async () => {
    registry = new Registry();
    const m = createMetrics(registry, P);
    m.targetHealth('auth', 'http://10.0.0.1:8089', true);
    m.targetHealth('auth', 'http://10.0.0.2:8089', true);
    m.targetHealth('auth', 'http://10.0.0.2:8089', false);
    expect(await samples(`${P}upstream_target_healthy`)).toEqual([
      `${P}upstream_target_healthy{service="auth",target="http://10.0.0.1:8089"} 1`,
      `${P}upstream_target_healthy{service="auth",target="http://10.0.0.2:8089"} 0`,
    ]);
  });

  it('counts gRPC calls by route and status name', async () => {
    registry = new Registry();
    const m = createMetrics(registry, P);
    m.grpcFinished('/lucid.Echo', 'OK');
    m.grpcFinished('/lucid.Echo', 'OK');
    m.grpcFinished('/lucid.Echo', 'UNAVAILABLE');
    m.grpcFinished('unmatched', 'UNIMPLEMENTED');
    expect(await samples(`${P}grpc_responses_total`)).toEqual([
      `${P}grpc_responses_total{route="/lucid.Echo",code="OK"} 2`,
      `${P}grpc_responses_total{route="/lucid.Echo",code="UNAVAILABLE"} 1`,
      `${P}grpc_responses_total{route="unmatched",code="UNIMPLEMENTED"} 1`,
    ]);
  });

  it('includes the default process metrics under the prefix', async () => {
    registry = new Registry();
    createMetrics(registry, P);
    const text = await registry.metrics();
    expect(text).toMatch(new RegExp(`^${P}process_cpu_seconds_total `, 'm'));
    expect(text).toMatch(new RegExp(`^${P}nodejs_heap_size_used_bytes `, 'm'));
  });

  it('can be created again on the same registry (reload) and keeps counting', async () => {
    registry = new Registry();
    createMetrics(registry, P).requestFinished('/a', 'GET', 200, 0.001);
    const again = createMetrics(registry, P);
    again.requestFinished('/a', 'GET', 200, 0.001);
    expect(await samples(`${P}http_requests_total`)).toEqual([
      `${P}http_requests_total{route="/a",method="GET",status_class="2xx"} 2`,
    ]);
  });

  it('shares the registry with plugin metrics', async () => {
    registry = new Registry();
    createMetrics(registry, P);
    const { Counter } = await import('prom-client');
    new Counter({ name: `${P}ratelimit_rejected_total`, help: 'x', registers: [registry] }).inc();
    expect(await samples(`${P}ratelimit_rejected_total`)).toEqual([`${P}ratelimit_rejected_total 1`]);
  });
});
