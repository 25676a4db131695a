import type { OutgoingHttpHeaders } from 'node:http';
import { Counter, Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import type { RoutedContext } from '../types.js';
import { metricsHandler } from './metrics.js';

function fakeCtx(method = 'GET') {
  const out: { status?: number; headers?: OutgoingHttpHeaders; body?: string } = {};
  const ctx = {
    req: { method },
    res: {
      writeHead: (status: number, headers: OutgoingHttpHeaders) => Object.assign(out, { status, headers }),
      end: (body?: string) => Object.assign(out, { body }),
    },
    requestId: 'req-1',
    responseHeaders: {},
  } as unknown as RoutedContext;
  return { ctx, out };
}

describe('metricsHandler', () => {
  const registry = new Registry();
  new Counter({ name: 'lucid_gateway_test_total', help: 'a test counter', registers: [registry] }).inc(3);
  const handler = metricsHandler(registry);

  it('answers the registry in the Prometheus text format', async () => {
    const { ctx, out } = fakeCtx();
    await handler(ctx);
    expect(out.status).toBe(200);
    expect(out.headers?.['content-type']).toBe(registry.contentType);
    expect(out.headers?.['x-request-id']).toBe('req-1');
    expect(out.body).toContain('# TYPE lucid_gateway_test_total counter');
    expect(out.body).toMatch(/^lucid_gateway_test_total 3$/m);
  });

  it('sends headers only to HEAD', async () => {
    const { ctx, out } = fakeCtx('HEAD');
    await handler(ctx);
    expect(out.body).toBeUndefined();
    expect(out.headers?.['content-length']).toBeGreaterThan(0);
  });
});
