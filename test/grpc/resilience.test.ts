import { createServer as createH2cServer, constants as h2constants } from 'node:http2';
import type { AddressInfo } from 'node:net';
import { until } from '@lucid/test-kit';
import { call, echoClient, type GrpcServer, grpc, startGrpcServer } from '@lucid/test-kit/grpc';
import { afterEach, describe, expect, it } from 'vitest';
import { type GrpcGateway, startGrpcGateway } from './support/gateway.js';

describe('gRPC calls when upstreams fail', () => {
  const cleanups: Array<() => Promise<void> | void> = [];
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c();
  });

  async function gatewayFor(
    targets: string[],
    service: Record<string, unknown> = {},
    extra: Record<string, unknown> = {},
  ): Promise<GrpcGateway> {
    const gw = await startGrpcGateway({
      ...extra,
      logging: { level: 'silent', pretty: false, accessLog: false },
      services: { echo: { targets, health: false, balancer: 'round-robin', ...service } },
      routes: [
        { prefix: '/lucid.test.Echo', service: 'echo', auth: 'public', stripPrefix: false, grpcWeb: true },
      ],
    });
    cleanups.push(() => gw.close());
    return gw;
  }
  async function upstream(): Promise<GrpcServer> {
    const u = await startGrpcServer();
    cleanups.push(() => u.close());
    return u;
  }
  function clientOf(gw: GrpcGateway) {
    const client = echoClient(gw.address);
    cleanups.push(() => client.close());
    return client;
  }

  it('a call whose body the gateway holds whole is sent to another target when the first refuses the connection', async () => {
    const dead = await startGrpcServer();
    const deadAddress = dead.address;
    await dead.close();
    const live = await upstream();
    const gw = await gatewayFor([`h2c://${deadAddress}`, `h2c://${live.address}`]);
    // gRPC-Web over HTTP/1.1 declares its length, so the gateway reads it whole and can send it again.
    for (let i = 0; i < 4; i++) {
      const res = await fetch(`${gw.url}/lucid.test.Echo/Unary`, {
        method: 'POST',
        headers: { 'content-type': 'application/grpc-web+proto' },
        body: new Uint8Array([0, 0, 0, 0, 0]),
      });
      expect(res.status).toBe(200);
      expect(res.headers.get('grpc-status'), `call ${i}`).toBeNull(); // not a refusal: trailers in the body
      const body = Buffer.from(await res.arrayBuffer());
      expect(body.subarray(body.lastIndexOf(0x80)).toString('latin1')).toMatch(/grpc-status: 0\r\n/);
    }
    expect(live.calls.filter((c) => c.path === '/lucid.test.Echo/Unary').length).toBe(4);
  });

  it('a streamed call refused at connect goes to another target with its body whole; with none left, UNAVAILABLE', async () => {
    const dead = await startGrpcServer();
    const deadAddress = dead.address;
    await dead.close();
    const live = await upstream();
    const gw = await gatewayFor([`h2c://${deadAddress}`, `h2c://${live.address}`]);
    const client = clientOf(gw);
    for (let i = 0; i < 4; i++) {
      const messages = [{ text: `a${i}`, payload: Buffer.alloc(1000, i) }, { text: `b${i}` }];
      const result = await call(client, 'ClientStream', messages);
      expect(result.code, `call ${i}`).toBe(grpc.status.OK);
      expect(result.replies[0]).toMatchObject({ text: `a${i},b${i}`, index: 2, receivedBytes: 1000 });
    }
    expect(live.calls.filter((c) => c.path === '/lucid.test.Echo/ClientStream').length).toBe(4);
    const alone = await gatewayFor([`h2c://${deadAddress}`]);
    const result = await call(clientOf(alone), 'ClientStream', [{ text: 'once' }]);
    expect(result.code).toBe(grpc.status.UNAVAILABLE);
  });

  it('a call refused with REFUSED_STREAM after its body went out is sent again, body and all', async () => {
    // An HTTP/2 server that reads each call whole and then refuses it (RFC 9113 §8.7: not processed).
    const refusing = createH2cServer();
    let refused = 0;
    refusing.on('stream', (stream) => {
      // Closing with an error code makes the stream emit it: this server expects that.
      stream.on('error', () => {});
      stream.resume();
      stream.on('end', () => {
        refused++;
        stream.close(h2constants.NGHTTP2_REFUSED_STREAM);
      });
    });
    await new Promise<void>((resolve) => refusing.listen(0, '127.0.0.1', resolve));
    cleanups.push(() => new Promise<void>((resolve) => refusing.close(() => resolve())));
    const live = await upstream();
    const port = (refusing.address() as AddressInfo).port;
    const gw = await gatewayFor([`h2c://127.0.0.1:${port}`, `h2c://${live.address}`]);
    const client = clientOf(gw);
    for (let i = 0; i < 4; i++) {
      const messages = [{ text: `r${i}`, payload: Buffer.alloc(5000, i) }, { text: 'end' }];
      const result = await call(client, 'ClientStream', messages);
      expect(result.code, `call ${i}`).toBe(grpc.status.OK);
      expect(result.replies[0]).toMatchObject({ text: `r${i},end`, receivedBytes: 5000 });
    }
    expect(refused).toBeGreaterThan(0);
    expect(live.calls.filter((c) => c.path === '/lucid.test.Echo/ClientStream').length).toBe(4);
  });

  it('a call the upstream saw is never sent again', async () => {
    const first = await upstream();
    const second = await upstream();
    const gw = await gatewayFor([`h2c://${first.address}`, `h2c://${second.address}`]);
    const client = clientOf(gw);
    // The upstream fails the call itself: its status goes back as it is, and no other target is asked.
    const result = await call(client, 'Unary', [{}], {
      metadata: { 'x-fail': String(grpc.status.UNAVAILABLE) },
    });
    expect(result.code).toBe(grpc.status.UNAVAILABLE);
    expect(result.details).toBe('failed on purpose: é%');
    const unary = (u: GrpcServer) => u.calls.filter((c) => c.path === '/lucid.test.Echo/Unary').length;
    expect(unary(first) + unary(second)).toBe(1);
  });

  it("a client's short deadlines do not open the breaker of a healthy target", async () => {
    const slow = await upstream();
    const gw = await gatewayFor([`h2c://${slow.address}`], { breaker: { failures: 2, cooldown: '1m' } });
    const client = clientOf(gw);
    for (let i = 0; i < 4; i++) {
      const result = await call(client, 'Unary', [{}], { metadata: { 'x-hang': '1' }, deadlineMs: 50 });
      expect(result.code).toBe(grpc.status.DEADLINE_EXCEEDED);
    }
    const ok = await call(client, 'Unary', [{ text: 'still here' }]);
    expect(ok.code).toBe(grpc.status.OK);
    expect(ok.replies[0]?.text).toBe('still here');
  });

  it("the route's timeout caps a longer grpc-timeout: DEADLINE_EXCEEDED, and the upstream's call is cancelled", async () => {
    const u = await upstream();
    const gw = await gatewayFor([`h2c://${u.address}`], { timeout: '300ms' });
    // The upstream sends its headers at once and then nothing: only the deadline can end the call.
    const result = await call(clientOf(gw), 'Unary', [{}], {
      metadata: { 'x-hang': '1' },
      deadlineMs: 60_000,
    });
    expect(result.code).toBe(grpc.status.DEADLINE_EXCEEDED);
    expect(u.calls.at(-1)!.timeLeft).toBeLessThanOrEqual(300);
    await until(
      async () => u.hanging(),
      (n) => n === 0,
    );
    // The gateway's own deadline ended it (the client's was a minute away): its metrics say so.
    const metrics = await until(
      () => gw.gateway.registry.metrics(),
      (m) => m.includes('code="DEADLINE_EXCEEDED"'),
    );
    expect(metrics).toContain(
      'lucid_gateway_grpc_responses_total{route="/lucid.test.Echo",code="DEADLINE_EXCEEDED"} 1',
    );
  });

  it('a message larger than limits.body is RESOURCE_EXHAUSTED', async () => {
    const u = await upstream();
    const gw = await gatewayFor([`h2c://${u.address}`], {}, { server: { limits: { body: '1mb' } } });
    const result = await call(clientOf(gw), 'Unary', [{ payload: Buffer.alloc(2 * 1024 * 1024) }]);
    expect(result.code).toBe(grpc.status.RESOURCE_EXHAUSTED);
  });

  it('an upstream lost mid-stream ends the call with a status in trailers, after the replies already sent', async () => {
    const u = await startGrpcServer();
    const gw = await gatewayFor([`h2c://${u.address}`]);
    const client = clientOf(gw);
    const md = new grpc.Metadata();
    md.set('x-stall', '1');
    const live = client.ServerStream({ text: 'x', count: 2 }, md);
    const replies: unknown[] = [];
    live.on('data', (r: unknown) => replies.push(r));
    live.on('error', () => {});
    // `once` would reject on the 'error' grpc-js emits before 'status'.
    const status = new Promise<grpc.StatusObject>((resolve) => live.on('status', resolve));
    await new Promise((resolve) => live.once('data', resolve));
    await u.close();
    const end = await status;
    expect(replies.length).toBeGreaterThanOrEqual(1);
    expect([grpc.status.UNAVAILABLE, grpc.status.DEADLINE_EXCEEDED]).toContain(end.code);
    expect(end.details).not.toMatch(/Received RST_STREAM|protocol error/i);
  });
});
