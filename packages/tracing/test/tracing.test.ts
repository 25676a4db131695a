import { ConfigError } from '@lucid/gateway-core';
import { jwtAuth } from '@lucid/middleware-auth';
import { rateLimitPlugins } from '@lucid/middleware-ratelimit';
import {
  freePort,
  type OtlpReceiver,
  type RunningGateway,
  send,
  startGateway,
  startOtlpReceiver,
  startUpstream,
  type Upstream,
} from '@lucid/test-kit';
import { call, echoClient, startGrpcServer } from '@lucid/test-kit/grpc';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type TracingConfigInput, type TracingPlugin, tracing } from '../src/index.js';

const TRACEPARENT = /^00-([0-9a-f]{32})-([0-9a-f]{16})-(0[01])$/;

let upstream: Upstream;
let receiver: OtlpReceiver;
const open: Array<{ close(): Promise<void> }> = [];

beforeEach(async () => {
  upstream = await startUpstream();
  receiver = await startOtlpReceiver();
});

afterEach(async () => {
  for (const o of open.splice(0).reverse()) await o.close();
  await upstream.close();
  await receiver.close();
});

/** A gateway with tracing in front of `targets`; closing it (the plugin's close) exports what is left. */
async function traced(
  options: TracingConfigInput,
  extra: {
    targets?: string[];
    plugins?: Parameters<typeof startGateway>[1];
    routes?: unknown[];
    services?: Record<string, unknown>;
  } = {},
): Promise<{
  gw: RunningGateway;
  plugin: TracingPlugin;
  metrics(): Promise<string>;
  close(): Promise<void>;
}> {
  const plugin = tracing({ endpoint: receiver.url, ...options }, {});
  const gw = await startGateway(
    {
      name: 'edge',
      services: extra.services ?? {
        // No active checks: a dead target stays in rotation, so round robin tries it first.
        api: {
          targets: extra.targets ?? [upstream.url],
          balancer: 'round-robin',
          retry: { attempts: 1 },
          health: false,
        },
      },
      routes: extra.routes ?? [{ prefix: '/api', service: 'api', auth: 'public' }],
    },
    [plugin, ...(extra.plugins ?? [])],
  );
  let closed: Promise<void> | undefined;
  const handle = {
    gw,
    plugin,
    metrics: async () => gw.gateway.registry.metrics(),
    close() {
      closed ??= gw.close();
      return closed;
    },
  };
  open.push(handle);
  return handle;
}

const accessLines = (gw: RunningGateway) => gw.logs.filter((l) => l.msg === 'request');

describe('tracing over OTLP/HTTP', () => {
  it('a request retried once: a server span, two client spans under it, and the upstream gets the second', async () => {
    // Round robin starts with the first target, which refuses: the attempt is retried on the second.
    const dead = `http://127.0.0.1:${await freePort()}`;
    const t = await traced({ sampleRatio: 1 }, { targets: [dead, upstream.url] });
    const reply = await send(`${t.gw.url}/api/orders/7?token=secret`, { headers: { 'user-agent': 'test' } });
    expect(reply.status).toBe(200);
    await t.close();
    const spans = await receiver.untilSpans(3);
    expect(spans).toHaveLength(3);
    const server = spans.find((s) => s.kind === 'server')!;
    const clients = spans
      .filter((s) => s.kind === 'client')
      .sort((a, b) => +a.attributes['lucid.attempt']! - +b.attributes['lucid.attempt']!);
    expect(server.parentSpanId).toBe('');
    expect(server.name).toBe('GET /api');
    expect(server.resource['service.name']).toBe('edge');
    expect(server.attributes).toMatchObject({
      'http.request.method': 'GET',
      'http.route': '/api',
      'lucid.route': '/api',
      'http.response.status_code': 200,
      'url.path': '/api/orders/7',
      'url.scheme': 'http',
      'client.address': '127.0.0.1',
    });
    // The query may carry credentials: no attribute of any span holds it.
    for (const s of spans) expect(JSON.stringify(s.attributes)).not.toContain('secret');

    expect(clients).toHaveLength(2);
    for (const c of clients) {
      expect(c.traceId).toBe(server.traceId);
      expect(c.parentSpanId).toBe(server.spanId);
    }
    const [first, second] = clients as [(typeof clients)[0], (typeof clients)[0]];
    expect(first.attributes).toMatchObject({
      'lucid.attempt': 1,
      'lucid.target': dead,
      'lucid.breaker.state': 'closed',
    });
    expect(first.status).toBe(2);
    expect(first.attributes['error.type']).toBe('ECONNREFUSED');
    expect(second.attributes).toMatchObject({
      'lucid.attempt': 2,
      'http.request.resend_count': 1,
      'lucid.retry_reason': 'ECONNREFUSED',
      'lucid.target': upstream.url,
      'http.response.status_code': 200,
      'url.full': `${upstream.url}/orders/7`,
    });
    expect(second.status).toBe(0);

    // The upstream names the attempt that reached it as its parent.
    expect(upstream.seen).toHaveLength(1);
    expect(upstream.seen[0]!.headers.traceparent).toBe(`00-${server.traceId}-${second.spanId}-01`);
    // And the access line carries the ids to find the trace by.
    expect(accessLines(t.gw)[0]).toMatchObject({ traceId: server.traceId, spanId: server.spanId });
  });

  it('sampleRatio 1 records every request; 0 records none, while ids still reach the upstream', async () => {
    const on = await traced({ sampleRatio: 1 });
    for (let i = 0; i < 3; i++) expect((await send(`${on.gw.url}/api/a`)).status).toBe(200);
    await on.close();
    expect((await receiver.untilSpans(6)).filter((s) => s.kind === 'server')).toHaveLength(3);
    expect(await on.metrics()).toMatch(/lucid_gateway_tracing_spans_exported_total 6/);

    receiver.spans.length = 0;
    upstream.seen.length = 0;
    const off = await traced({ sampleRatio: 0 });
    for (let i = 0; i < 3; i++) expect((await send(`${off.gw.url}/api/a`)).status).toBe(200);
    await off.close();
    expect(receiver.spans).toEqual([]);
    expect(receiver.exports).toHaveLength(1); // the first gateway's only batch
    // Not sampled: the upstream still gets a fresh trace, flagged as not sampled, the one the access log names.
    const lines = accessLines(off.gw);
    upstream.seen.forEach((seen, i) => {
      const m = TRACEPARENT.exec(String(seen.headers.traceparent))!;
      expect(m[3]).toBe('00');
      expect(m[1]).toBe(lines[i]!.traceId);
    });
  });

  it('follows a sampled incoming traceparent at ratio 0, and an unsampled one stays unrecorded at ratio 1', async () => {
    const parentTrace = '4bf92f3577b34da6a3ce929d0e0e4736';
    const parentSpan = '00f067aa0ba902b7';
    const zero = await traced({ sampleRatio: 0 });
    const reply = await send(`${zero.gw.url}/api/x`, {
      headers: { traceparent: `00-${parentTrace}-${parentSpan}-01` },
    });
    expect(reply.status).toBe(200);
    await zero.close();
    const spans = await receiver.untilSpans(2);
    const server = spans.find((s) => s.kind === 'server')!;
    expect(server.traceId).toBe(parentTrace);
    expect(server.parentSpanId).toBe(parentSpan);
    expect(upstream.seen[0]!.headers.traceparent).toMatch(new RegExp(`^00-${parentTrace}-[0-9a-f]{16}-01$`));

    receiver.spans.length = 0;
    const one = await traced({ sampleRatio: 1 });
    await send(`${one.gw.url}/api/x`, { headers: { traceparent: `00-${parentTrace}-${parentSpan}-00` } });
    await one.close();
    expect(receiver.spans).toEqual([]);
  });

  it('a malformed or repeated traceparent starts a new trace rather than joining one a client made up', async () => {
    const t = await traced({ sampleRatio: 1 });
    const bad = [
      '00-zzzz-00f067aa0ba902b7-01',
      `00-${'0'.repeat(32)}-00f067aa0ba902b7-01`,
      'ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01',
    ];
    for (const traceparent of bad)
      expect((await send(`${t.gw.url}/api/x`, { headers: { traceparent } })).status).toBe(200);
    // Two headers: Node joins them with ", ", which no pattern accepts.
    await send(`${t.gw.url}/api/x`, {
      headers: {
        traceparent: [
          '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01',
          '00-4bf92f3577b34da6a3ce929d0e0e4737-00f067aa0ba902b7-01',
        ],
      },
    });
    await t.close();
    const servers = (await receiver.untilSpans(8)).filter((s) => s.kind === 'server');
    expect(servers).toHaveLength(4);
    for (const s of servers) {
      expect(s.parentSpanId).toBe('');
      expect(s.traceId).not.toBe('4bf92f3577b34da6a3ce929d0e0e4736');
    }
  });

  it('records refused credentials and rate-limit rejections as events, and 5xx as errors', async () => {
    const t = await traced(
      { sampleRatio: 1 },
      {
        plugins: [
          jwtAuth({
            jwt: {
              secret: 'a-secret-of-at-least-32-characters-long',
              algorithms: ['HS256'],
              issuer: 'lucid-auth',
              audience: 'lucid-api',
            },
          }),
          ...rateLimitPlugins({ keyBy: 'ip', tiers: { free: '1/min' }, defaultTier: 'free' }),
        ],
        routes: [
          { prefix: '/private', service: 'api' },
          { prefix: '/api', service: 'api', auth: 'public' },
        ],
      },
    );
    expect(
      (await send(`${t.gw.url}/private/x`, { headers: { authorization: 'Bearer not.a.token' } })).status,
    ).toBe(401);
    expect((await send(`${t.gw.url}/api/x`)).status).toBe(200);
    expect((await send(`${t.gw.url}/api/x`)).status).toBe(429);
    await t.close();
    const servers = (await receiver.untilSpans(4)).filter((s) => s.kind === 'server');
    const byStatus = new Map(servers.map((s) => [s.attributes['http.response.status_code'], s]));
    const refused = byStatus.get(401)!;
    expect(refused.events).toEqual([
      {
        name: 'lucid.auth.failed',
        attributes: expect.objectContaining({ 'lucid.error.code': 'GW_UNAUTHORIZED' }),
      },
    ]);
    expect(refused.status).toBe(0); // a client's mistake is not the server's error
    const limited = byStatus.get(429)!;
    expect(limited.events.map((e) => e.name)).toEqual(['lucid.rate_limit.rejected']);
    expect(limited.events[0]!.attributes['lucid.retry_after_s']).toBeGreaterThan(0);
    expect(limited.attributes['lucid.error.code']).toBe('GW_RATE_LIMITED');
    // The bearer token never reaches a span.
    expect(JSON.stringify(servers)).not.toContain('not.a.token');
  });

  it('an upstream that cannot be reached answers 503 with an error span; a 404 has no route and no client span', async () => {
    const dead = `http://127.0.0.1:${await freePort()}`;
    const t = await traced({ sampleRatio: 1 }, { targets: [dead] });
    expect((await send(`${t.gw.url}/api/x`)).status).toBe(503);
    expect((await send(`${t.gw.url}/nowhere`)).status).toBe(404);
    await t.close();
    const spans = await receiver.untilSpans(4);
    const failed = spans.find(
      (s) => s.kind === 'server' && s.attributes['http.response.status_code'] === 503,
    )!;
    expect(failed.status).toBe(2);
    expect(failed.attributes['error.type']).toBe('503');
    expect(failed.attributes['lucid.error.code']).toBe('GW_UPSTREAM_UNAVAILABLE');
    // Two attempts (one retry), both on the one dead target's span tree.
    expect(spans.filter((s) => s.kind === 'client' && s.parentSpanId === failed.spanId)).toHaveLength(2);
    const missing = spans.find((s) => s.attributes['http.response.status_code'] === 404)!;
    expect(missing.name).toBe('GET');
    expect(missing.attributes['http.route']).toBeUndefined();
    expect(spans.filter((s) => s.parentSpanId === missing.spanId)).toEqual([]);
  });

  it('a gRPC call carries its status on the request span', async () => {
    const grpcUpstream = await startGrpcServer();
    open.push(grpcUpstream);
    const t = await traced(
      { sampleRatio: 1 },
      {
        services: { echo: { targets: [`h2c://${grpcUpstream.address}`], health: false } },
        routes: [{ prefix: '/lucid.test.Echo', service: 'echo', auth: 'public', stripPrefix: false }],
      },
    );
    const client = echoClient(`127.0.0.1:${t.gw.port}`);
    try {
      const failed = await call(client, 'Unary', [{ text: 'hi' }], { metadata: { 'x-fail': '5' } });
      expect(failed.code).toBe(5);
    } finally {
      client.close();
    }
    await t.close();
    const spans = await receiver.untilSpans(2);
    const server = spans.find((s) => s.kind === 'server')!;
    expect(server.attributes).toMatchObject({
      'rpc.system': 'grpc',
      'rpc.grpc.status_code': 5,
      'http.request.method': 'POST',
      'http.route': '/lucid.test.Echo',
    });
    expect(grpcUpstream.calls[0]!.metadata.traceparent).toMatch(new RegExp(`^00-${server.traceId}-`));
  });

  it('sends the configured headers with every export', async () => {
    const t = await traced({ sampleRatio: 1, headers: { authorization: 'Bearer collector-token' } });
    await send(`${t.gw.url}/api/x`);
    await t.close();
    await receiver.untilSpans(2);
    expect(receiver.exports[0]!.authorization).toBe('Bearer collector-token');
    expect(receiver.exports[0]!['content-type']).toBe('application/json');
  });
});

describe('a collector that is down costs no request', () => {
  it('refusing connections: every request answers, the failed exports are counted', async () => {
    const t = await traced({
      sampleRatio: 1,
      endpoint: `http://127.0.0.1:${await freePort()}/v1/traces`,
      timeout: '1s',
    });
    for (let i = 0; i < 5; i++) expect((await send(`${t.gw.url}/api/x`)).status).toBe(200);
    await t.close();
    const text = await t.metrics();
    expect(text).toMatch(/lucid_gateway_tracing_spans_dropped_total\{reason="export_failed"\} 10/);
    expect(text).toMatch(/lucid_gateway_tracing_spans_exported_total 0/);
    expect(
      t.gw.logs.filter((l) => l.msg === 'trace export failed; spans are dropped until the collector answers'),
    ).toHaveLength(1);
  });

  it('never answering: the queue stays within queueSize and what does not fit is dropped and counted', async () => {
    const hung = await startOtlpReceiver({ hang: true });
    open.push(hung);
    const t = await traced({ sampleRatio: 1, endpoint: hung.url, queueSize: 4, timeout: '1s' });
    for (let i = 0; i < 20; i++) expect((await send(`${t.gw.url}/api/x`)).status).toBe(200);
    const during = await t.metrics();
    const queued = Number(/lucid_gateway_tracing_queue_spans (\d+)/.exec(during)![1]);
    expect(queued).toBeLessThanOrEqual(4);
    const dropped = Number(
      /lucid_gateway_tracing_spans_dropped_total\{reason="queue_full"\} (\d+)/.exec(during)![1],
    );
    // 40 spans ended; one batch of 4 is out to the collector, at most 4 wait.
    expect(dropped).toBeGreaterThanOrEqual(40 - 8);
    await t.close();
  });
});

describe('tracing config', () => {
  it('names the path of a bad setting', () => {
    expect(() => tracing({ endpoint: 'ftp://x', sampleRatio: 2 } as never, {})).toThrow(ConfigError);
    expect(() => tracing({ sampleRatio: 2, endpoint: 'http://c:4318/v1/traces' }, {})).toThrow(
      /tracing\.sampleRatio/,
    );
    expect(() => tracing({ endpoint: 'http://user:pw@c:4318/v1/traces' }, {})).toThrow(
      /tracing\.endpoint: credentials/,
    );
    expect(() => tracing({ endpoint: 'http://c/v1/traces', headers: { 'x-a': 'b\r\nx: y' } }, {})).toThrow(
      /tracing\.headers/,
    );
    expect(() => tracing({ endpointt: 'http://c' } as never, {})).toThrow(/tracing/);
  });

  it('takes the endpoint from OTEL_EXPORTER_OTLP_ENDPOINT, and refuses to start with none', () => {
    expect(() => tracing({}, {})).toThrow(/tracing\.endpoint: no collector to send spans to/);
    expect(() => tracing({}, { OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318' })).not.toThrow();
    expect(() => tracing({}, { OTEL_EXPORTER_OTLP_ENDPOINT: 'nope' })).toThrow(/OTEL_EXPORTER_OTLP_ENDPOINT/);
  });
});
