import { randomBytes } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import { createServer as createH2cServer } from 'node:http2';
import type { AddressInfo } from 'node:net';
import { dirname, join } from 'node:path';
import { type ServerCertificate, serverCertificate, until } from '@lucid/test-kit';
import { call, echoClient, type GrpcServer, grpc, startGrpcServer } from '@lucid/test-kit/grpc';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type GrpcGateway, startGrpcGateway } from './support/gateway.js';

const MB = 1024 * 1024;

let cert: ServerCertificate;
beforeAll(async () => {
  cert = await serverCertificate();
});
afterAll(async () => {
  await cert?.close();
});

/** h2c both ways; TLS from the client (server.tls); TLS both ways (an https:// upstream with `http2: true`). */
describe.each(['h2c', 'tls', 'tls-both'] as const)('gRPC calls through the gateway (%s)', (mode) => {
  let upstream: GrpcServer;
  let gw: GrpcGateway;
  let client: ReturnType<typeof echoClient>;

  beforeAll(async () => {
    const upstreamTls = mode === 'tls-both';
    upstream = await startGrpcServer(
      upstreamTls
        ? { tls: { cert: await readFile(cert.certFile, 'utf8'), key: await readFile(cert.keyFile, 'utf8') } }
        : {},
    );
    const caFile = join(dirname(cert.certFile), 'upstream-ca.pem');
    if (upstreamTls) await writeFile(caFile, cert.ca);
    const service = upstreamTls
      ? // The gRPC health check goes over TLS too: the first round must pass before the gateway is ready.
        { targets: [`https://${upstream.address}`], http2: true, tls: { ca: caFile }, health: { grpc: true } }
      : { targets: [`h2c://${upstream.address}`], health: false };
    gw = await startGrpcGateway(
      {
        logging: { level: 'info', pretty: false, accessLog: true },
        services: { echo: { ...service, timeout: '10s' } },
        routes: [{ prefix: '/lucid.test.Echo', service: 'echo', auth: 'public', stripPrefix: false }],
      },
      [],
      mode === 'h2c' ? {} : { tls: cert },
    );
    client = echoClient(gw.address, mode === 'h2c' ? {} : { ca: cert.ca });
    if (upstreamTls) {
      expect((await gw.gateway.health()).services.echo).toBe(true);
      expect(upstream.calls.some((c) => c.path === '/grpc.health.v1.Health/Check')).toBe(true);
    }
  });
  afterAll(async () => {
    client?.close();
    await gw?.close();
    await upstream?.close();
  });

  it("unary, with metadata both ways and the server's trailers intact", async () => {
    const payload = randomBytes(1000);
    const result = await call(client, 'Unary', [{ text: 'hello', payload }], {
      metadata: { 'x-echo': 'ping' },
    });
    expect(result.code).toBe(grpc.status.OK);
    expect(result.replies[0]?.text).toBe('hello');
    expect(result.replies[0]?.payload.equals(payload)).toBe(true);
    expect(result.headers?.get('x-echo')).toEqual(['ping']);
    expect(result.headers?.get('x-request-id')[0]).toMatch(/./);
    expect(result.trailers?.get('x-trailer')).toEqual(['done']);
    expect(result.trailers?.get('x-trailer-bin')).toEqual([Buffer.from([0, 1, 2, 255])]);
    const seen = upstream.calls.at(-1)!;
    expect(seen.path).toBe('/lucid.test.Echo/Unary');
    expect(seen.metadata['x-request-id']).toBe(result.headers?.get('x-request-id')[0]);
  });

  it('unary with a 4 MB message each way', async () => {
    const payload = randomBytes(4 * MB);
    const result = await call(client, 'Unary', [{ text: 'big', payload }]);
    expect(result.code).toBe(grpc.status.OK);
    expect(result.replies[0]?.payload.equals(payload)).toBe(true);
  });

  it('server streaming: many large replies, then the trailers', async () => {
    const payload = randomBytes(MB);
    const result = await call(client, 'ServerStream', [{ text: 's', payload, count: 5 }]);
    expect(result.code).toBe(grpc.status.OK);
    expect(result.replies.map((r) => r.index)).toEqual([0, 1, 2, 3, 4]);
    for (const r of result.replies) expect(r.payload.equals(payload)).toBe(true);
    expect(result.trailers?.get('x-trailer')).toEqual(['done']);
  });

  it('client streaming: every large message arrives', async () => {
    const messages = Array.from({ length: 4 }, (_, i) => ({ text: `m${i}`, payload: randomBytes(MB + i) }));
    const result = await call(client, 'ClientStream', messages);
    expect(result.code).toBe(grpc.status.OK);
    expect(result.replies[0]).toMatchObject({ text: 'm0,m1,m2,m3', index: 4, receivedBytes: 4 * MB + 6 });
  });

  it('bidirectional streaming: each large message echoed', async () => {
    const messages = Array.from({ length: 3 }, (_, i) => ({ text: `b${i}`, payload: randomBytes(2 * MB) }));
    const result = await call(client, 'Bidi', messages);
    expect(result.code).toBe(grpc.status.OK);
    expect(result.replies.map((r) => r.text)).toEqual(['b0', 'b1', 'b2']);
    for (const [i, r] of result.replies.entries()) expect(r.payload.equals(messages[i]!.payload)).toBe(true);
    expect(result.trailers?.get('x-trailer')).toEqual(['done']);
  });

  it("relays the upstream's own error status, message and trailers", async () => {
    const result = await call(client, 'Unary', [{}], {
      metadata: { 'x-fail': String(grpc.status.NOT_FOUND) },
    });
    expect(result.code).toBe(grpc.status.NOT_FOUND);
    expect(result.details).toBe('failed on purpose: é%');
    expect(result.trailers?.get('x-trailer')).toEqual(['done']);
  });

  it('a deadline the upstream does not meet is DEADLINE_EXCEEDED, and the upstream is told its time', async () => {
    const before = upstream.calls.length;
    const result = await call(client, 'Unary', [{}], { metadata: { 'x-hang': '1' }, deadlineMs: 200 });
    expect(result.code).toBe(grpc.status.DEADLINE_EXCEEDED);
    const seen = upstream.calls[before]!;
    // What is left of the client's 200ms, never more.
    expect(seen.timeLeft).toBeGreaterThan(0);
    expect(seen.timeLeft).toBeLessThanOrEqual(200);
    // The upstream's stream was cancelled too: its handler does not wait forever.
    await until(
      async () => upstream.hanging(),
      (n) => n === 0,
    );
  });

  it("the access log and the metrics carry each call's gRPC status", async () => {
    await call(client, 'Unary', [{}], { metadata: { 'x-fail': String(grpc.status.ALREADY_EXISTS) } });
    // The line is written once the gateway's side of the stream closed, which may follow the client's status.
    const lines = await until(
      async () => gw.logs.filter((l) => l.msg === 'request'),
      (ls) => ls.some((l) => l.grpcStatus === grpc.status.ALREADY_EXISTS),
    );
    expect(lines.find((l) => l.grpcStatus === grpc.status.ALREADY_EXISTS)).toMatchObject({
      route: '/lucid.test.Echo',
      status: 200,
    });
    expect(
      lines.filter((l) => l.path === '/lucid.test.Echo/Bidi').map((l) => [l.status, l.grpcStatus]),
    ).toEqual([[200, grpc.status.OK]]);
    const metrics = await gw.gateway.registry.metrics();
    expect(metrics).toMatch(
      /lucid_gateway_grpc_responses_total\{route="\/lucid.test.Echo",code="OK"\} [1-9]/,
    );
    expect(metrics).toContain(
      'lucid_gateway_grpc_responses_total{route="/lucid.test.Echo",code="ALREADY_EXISTS"} 1',
    );
  });
});

describe('an upstream that is down', () => {
  it('is UNAVAILABLE', async () => {
    const upstream = await startGrpcServer();
    const address = upstream.address;
    await upstream.close();
    const gw = await startGrpcGateway({
      logging: { level: 'silent', pretty: false, accessLog: false },
      services: { echo: { targets: [`h2c://${address}`], health: false } },
      routes: [{ prefix: '/lucid.test.Echo', service: 'echo', auth: 'public', stripPrefix: false }],
    });
    const client = echoClient(gw.address);
    try {
      const result = await call(client, 'Unary', [{}]);
      expect(result.code).toBe(grpc.status.UNAVAILABLE);
    } finally {
      client.close();
      await gw.close();
    }
  });
});

describe("an upstream's trailers-only answer", () => {
  it('reaches the client as its status, and the access line says 200 with that status', async () => {
    // A gRPC server that refuses every call in one HEADERS frame (END_STREAM), as grpc servers do for errors.
    const refusing = createH2cServer();
    refusing.on('stream', (stream) => {
      stream.resume();
      stream.respond(
        {
          ':status': 200,
          'content-type': 'application/grpc',
          'grpc-status': '5',
          'grpc-message': 'no such thing',
        },
        { endStream: true },
      );
    });
    await new Promise<void>((resolve) => refusing.listen(0, '127.0.0.1', resolve));
    const port = (refusing.address() as AddressInfo).port;
    const gw = await startGrpcGateway({
      logging: { level: 'info', pretty: false, accessLog: true },
      services: { echo: { targets: [`h2c://127.0.0.1:${port}`], health: false } },
      routes: [{ prefix: '/lucid.test.Echo', service: 'echo', auth: 'public', stripPrefix: false }],
    });
    const client = echoClient(gw.address);
    try {
      const result = await call(client, 'Unary', [{}]);
      expect(result.code).toBe(grpc.status.NOT_FOUND);
      expect(result.details).toBe('no such thing');
      const lines = await until(
        async () => gw.logs.filter((l) => l.msg === 'request'),
        (ls) => ls.length > 0,
      );
      expect(lines[0]).toMatchObject({ status: 200, grpcStatus: grpc.status.NOT_FOUND });
    } finally {
      client.close();
      await gw.close();
      await new Promise<void>((resolve) => refusing.close(() => resolve()));
    }
  });
});
