import { createServer, type Server } from 'node:http';
import { h2Request } from '@lucid/test-kit';
import { type Browser, launchChromium } from '@lucid/test-kit/browser';
import { echoMessages, type GrpcServer, grpc, startGrpcServer } from '@lucid/test-kit/grpc';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type GrpcGateway, startGrpcGateway } from './support/gateway.js';

const PAGE_ORIGIN_HOST = '127.0.0.1';

/** Frames a message as gRPC (and gRPC-Web) do: flags, 4-byte length, bytes. */
function frame(message: Buffer, flags = 0): Buffer {
  const prefix = Buffer.alloc(5);
  prefix[0] = flags;
  prefix.writeUInt32BE(message.length, 1);
  return Buffer.concat([prefix, message]);
}

/** A gRPC-Web answer's body read back: its messages and its trailer frame's lines. */
function readWebBody(body: Buffer): { messages: Buffer[]; trailers: Record<string, string> | undefined } {
  const messages: Buffer[] = [];
  let trailers: Record<string, string> | undefined;
  let at = 0;
  while (at < body.length) {
    const flags = body[at]!;
    const length = body.readUInt32BE(at + 1);
    const data = body.subarray(at + 5, at + 5 + length);
    expect(data.length).toBe(length);
    at += 5 + length;
    if (flags & 0x80) {
      expect(at).toBe(body.length); // the trailers end the body
      trailers = {};
      for (const line of data.toString('latin1').split('\r\n')) {
        if (line === '') continue;
        const colon = line.indexOf(':');
        trailers[line.slice(0, colon)] = line.slice(colon + 1).trim();
      }
    } else messages.push(data);
  }
  return { messages, trailers };
}

let upstream: GrpcServer;
let gw: GrpcGateway;
let page: Server;
let pageOrigin: string;

beforeAll(async () => {
  upstream = await startGrpcServer();
  page = createServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'text/html' });
    res.end('<!doctype html><title>app</title>');
  });
  await new Promise<void>((resolve) => page.listen(0, PAGE_ORIGIN_HOST, resolve));
  pageOrigin = `http://${PAGE_ORIGIN_HOST}:${(page.address() as { port: number }).port}`;
  gw = await startGrpcGateway(
    {
      logging: { level: 'info', pretty: false, accessLog: true },
      server: { cors: { origins: [pageOrigin] } },
      services: { echo: { targets: [`h2c://${upstream.address}`], health: false } },
      routes: [
        { prefix: '/lucid.test.Echo', service: 'echo', auth: 'public', stripPrefix: false, grpcWeb: true },
      ],
    },
    [],
  );
});
afterAll(async () => {
  await gw?.close();
  await upstream?.close();
  await new Promise<void>((resolve) => page?.close(() => resolve()));
});

async function webCall(
  path: string,
  message: Buffer,
  opts: { text?: boolean; headers?: Record<string, string> } = {},
) {
  const framed = frame(message);
  const res = await fetch(gw.url + path, {
    method: 'POST',
    headers: {
      'content-type': opts.text ? 'application/grpc-web-text' : 'application/grpc-web+proto',
      accept: opts.text ? 'application/grpc-web-text' : 'application/grpc-web+proto',
      'x-grpc-web': '1',
      origin: pageOrigin,
      ...opts.headers,
    },
    body: opts.text ? framed.toString('base64') : framed,
  });
  const raw = Buffer.from(await res.arrayBuffer());
  const body = opts.text ? Buffer.from(raw.toString('latin1'), 'base64') : raw;
  return { res, raw, ...readWebBody(body) };
}

describe('gRPC-Web through a grpcWeb route', () => {
  it('binary: the call goes upstream as gRPC and its answer comes back framed, trailers last', async () => {
    const { res, messages, trailers } = await webCall(
      '/lucid.test.Echo/Unary',
      echoMessages.request({ text: 'from the web', payload: Buffer.from([1, 2, 3]) }),
      { headers: { 'x-echo': 'web' } },
    );
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('application/grpc-web+proto');
    expect(res.headers.get('x-echo')).toBe('web');
    expect(messages.length).toBe(1);
    expect(echoMessages.reply(messages[0]!)).toMatchObject({
      text: 'from the web',
      payload: Buffer.from([1, 2, 3]),
    });
    expect(trailers).toMatchObject({ 'grpc-status': '0', 'x-trailer': 'done' });
    const seen = upstream.calls.at(-1)!;
    expect(seen.path).toBe('/lucid.test.Echo/Unary');
    expect(seen.metadata['x-grpc-web']).toBeUndefined();
    expect(gw.logs.filter((l) => l.msg === 'request').at(-1)).toMatchObject({ grpcStatus: 0 });
  });

  it('text: a base64 body and a base64 answer with several messages', async () => {
    const { res, raw, messages, trailers } = await webCall(
      '/lucid.test.Echo/ServerStream',
      echoMessages.request({ text: 'txt', payload: Buffer.alloc(1000, 7), count: 3 }),
      { text: true },
    );
    expect(res.headers.get('content-type')).toBe('application/grpc-web-text+proto');
    expect(raw.toString('latin1')).toMatch(/^[A-Za-z0-9+/]*={0,2}$/);
    expect(messages.map((m) => echoMessages.reply(m).index)).toEqual([0, 1, 2]);
    expect(trailers?.['grpc-status']).toBe('0');
  });

  it("the upstream's error comes back with its status and message", async () => {
    const { res, trailers } = await webCall('/lucid.test.Echo/Unary', echoMessages.request({}), {
      headers: { 'x-fail': String(grpc.status.FAILED_PRECONDITION) },
    });
    const status = res.headers.get('grpc-status') ?? trailers?.['grpc-status'];
    const message = res.headers.get('grpc-message') ?? trailers?.['grpc-message'];
    expect(status).toBe(String(grpc.status.FAILED_PRECONDITION));
    expect(decodeURIComponent(message!)).toBe('failed on purpose: é%');
  });

  it("the gateway's own refusal is gRPC-Web, status in the headers, readable cross-origin", async () => {
    for (const text of [false, true]) {
      const res = await fetch(`${gw.url}/lucid.test.Other/Call`, {
        method: 'POST',
        headers: {
          'content-type': text ? 'application/grpc-web-text' : 'application/grpc-web',
          origin: pageOrigin,
        },
        body: text ? frame(Buffer.alloc(0)).toString('base64') : frame(Buffer.alloc(0)),
      });
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toBe(
        text ? 'application/grpc-web-text+proto' : 'application/grpc-web+proto',
      );
      expect(res.headers.get('grpc-status')).toBe(String(grpc.status.UNIMPLEMENTED));
      expect(res.headers.get('access-control-allow-origin')).toBe(pageOrigin);
      expect(res.headers.get('access-control-expose-headers')).toMatch(/grpc-status/);
      expect(res.headers.get('access-control-expose-headers')).toMatch(/grpc-message/);
      expect((await res.arrayBuffer()).byteLength).toBe(0);
    }
  });

  it('a malformed text body fails the call with a status, never OK', async () => {
    const before = upstream.calls.length;
    const res = await fetch(`${gw.url}/lucid.test.Echo/Unary`, {
      method: 'POST',
      headers: { 'content-type': 'application/grpc-web-text', origin: pageOrigin },
      body: 'AAAA*not-base64*',
    });
    const status = res.headers.get('grpc-status');
    const body = Buffer.from(await res.arrayBuffer()).toString('latin1');
    const trailers = body ? readWebBody(Buffer.from(body, 'base64')).trailers : undefined;
    expect(status ?? trailers?.['grpc-status']).toMatch(/^\d+$/);
    expect(status ?? trailers?.['grpc-status']).not.toBe('0');
    // No reply was made from the broken message.
    expect(
      upstream.calls.slice(before).filter((c) => c.path === '/lucid.test.Echo/Unary').length,
    ).toBeLessThanOrEqual(1);
  });

  it('over HTTP/2 too: the trailers travel in the body, not as HTTP/2 trailers', async () => {
    const res = await h2Request(`${gw.url}/lucid.test.Echo/Unary`, {
      method: 'POST',
      headers: { 'content-type': 'application/grpc-web+proto', 'x-grpc-web': '1' },
      body: frame(echoMessages.request({ text: 'h2' })),
    });
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toBe('application/grpc-web+proto');
    expect(res.trailers['grpc-status']).toBeUndefined();
    const { messages, trailers } = readWebBody(res.body);
    expect(echoMessages.reply(messages[0]!).text).toBe('h2');
    expect(trailers?.['grpc-status']).toBe('0');
    const refused = await h2Request(`${gw.url}/lucid.test.Echo/Unary`, {
      method: 'POST',
      headers: { 'content-type': 'application/grpc-web+proto', 'x-fail': String(grpc.status.ABORTED) },
      body: frame(echoMessages.request({})),
    });
    const status = refused.headers['grpc-status'] ?? readWebBody(refused.body).trailers?.['grpc-status'];
    expect(status).toBe(String(grpc.status.ABORTED));
  });

  it('preflights from the allowed origin admit the gRPC-Web headers', async () => {
    const res = await fetch(`${gw.url}/lucid.test.Echo/Unary`, {
      method: 'OPTIONS',
      headers: {
        origin: pageOrigin,
        'access-control-request-method': 'POST',
        'access-control-request-headers': 'content-type,x-grpc-web,x-user-agent,grpc-timeout',
      },
    });
    expect(res.status).toBe(204);
    const allowed = (res.headers.get('access-control-allow-headers') ?? '').split(/,\s*/);
    for (const h of ['content-type', 'x-grpc-web', 'x-user-agent', 'grpc-timeout'])
      expect(allowed).toContain(h);
    const other = await fetch(`${gw.url}/lucid.test.Echo/Unary`, {
      method: 'OPTIONS',
      headers: { origin: 'http://evil.example', 'access-control-request-method': 'POST' },
    });
    expect(other.headers.get('access-control-allow-origin')).toBeNull();
  });
});

describe('gRPC-Web from a real browser on another origin', () => {
  let browser: Browser | undefined;
  afterAll(async () => {
    await browser?.close();
  });

  it('calls unary in binary and text and reads status and reply', async () => {
    browser = await launchChromium();
    const tab = await browser.context.newPage();
    await tab.goto(pageOrigin);
    const request = frame(echoMessages.request({ text: 'from chromium' }));
    const results = await tab.evaluate(
      async ({ url, body }) => {
        const bytes = Uint8Array.from(atob(body), (c) => c.charCodeAt(0));
        const out: Array<{ status: number; type: string | null; grpcStatus: string | null; body: string }> =
          [];
        for (const text of [false, true]) {
          const res = await fetch(url, {
            method: 'POST',
            headers: {
              'content-type': text ? 'application/grpc-web-text' : 'application/grpc-web+proto',
              'x-grpc-web': '1',
              'x-user-agent': 'grpc-web-javascript/0.1',
              'grpc-timeout': '5S',
            },
            body: text ? body : bytes,
          });
          const buf = new Uint8Array(await res.arrayBuffer());
          let raw = '';
          for (const b of buf) raw += String.fromCharCode(b);
          out.push({
            status: res.status,
            type: res.headers.get('content-type'),
            grpcStatus: res.headers.get('grpc-status'),
            body: text ? raw : btoa(raw),
          });
        }
        return out;
      },
      { url: `${gw.url}/lucid.test.Echo/Unary`, body: request.toString('base64') },
    );
    expect(results.map((r) => r.type)).toEqual([
      'application/grpc-web+proto',
      'application/grpc-web-text+proto',
    ]);
    for (const r of results) {
      expect(r.status).toBe(200);
      const { messages, trailers } = readWebBody(Buffer.from(r.body, 'base64'));
      expect(echoMessages.reply(messages[0]!).text).toBe('from chromium');
      expect(trailers?.['grpc-status']).toBe('0');
    }
  });
});
