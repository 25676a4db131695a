import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import {
  captureResponse,
  type GatewayContext,
  type ResponseObserver,
  withDetachedResponse,
} from '@lucid/gateway-core';
import { send } from '@lucid/test-kit';
import { afterEach, describe, expect, it } from 'vitest';

let server: Server | undefined;
afterEach(async () => {
  await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
  server = undefined;
});

async function serve(handler: (req: IncomingMessage, res: ServerResponse) => void): Promise<string> {
  server = createServer(handler);
  await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(server.address() as { port: number }).port}`;
}

function recorder(replace?: (status: number) => ReturnType<ResponseObserver['head']>) {
  const seen = { status: 0, headers: {} as Record<string, unknown>, body: [] as Buffer[], ended: false };
  const observer: ResponseObserver = {
    head(status, headers) {
      seen.status = status;
      seen.headers = headers;
      return replace?.(status);
    },
    data: (chunk) => seen.body.push(chunk),
    end: () => {
      seen.ended = true;
    },
  };
  return { seen, observer };
}

describe('captureResponse', () => {
  it('sees status, headers (set before and given to writeHead) and the body, and relays them unchanged', async () => {
    const { seen, observer } = recorder();
    const url = await serve((_req, res) => {
      captureResponse(res, observer);
      res.setHeader('x-before', '1');
      res.writeHead(201, 'Made', { 'X-Given': '2', 'content-type': 'text/plain' });
      res.write('ab');
      res.write(Buffer.from('cd'));
      res.end('ef');
    });
    const r = await send(url);
    expect(r.status).toBe(201);
    expect(r.text).toBe('abcdef');
    expect(r.headers['x-before']).toBe('1');
    expect(seen).toMatchObject({ status: 201, ended: true });
    expect(seen.headers).toMatchObject({ 'x-before': '1', 'x-given': '2' });
    expect(Buffer.concat(seen.body).toString()).toBe('abcdef');
  });

  it('sees an implicit head (write without writeHead) and raw header arrays', async () => {
    const { seen, observer } = recorder();
    const url = await serve((_req, res) => {
      captureResponse(res, observer);
      res.statusCode = 202;
      res.setHeader('x-a', 'b');
      res.end('done');
    });
    expect((await send(url)).status).toBe(202);
    expect(seen).toMatchObject({ status: 202, headers: { 'x-a': 'b' }, ended: true });

    const second = recorder();
    server!.removeAllListeners('request');
    server!.on('request', (_req, res: ServerResponse) => {
      captureResponse(res, second.observer);
      res.writeHead(200, ['X-Raw', 'yes', 'Content-Length', '2']);
      res.end('ok');
    });
    expect((await send(url)).text).toBe('ok');
    expect(second.seen.headers).toMatchObject({ 'x-raw': 'yes', 'content-length': '2' });
  });

  it('writes a replacement instead, once the relayed body ended, dropping headers set before', async () => {
    const { seen, observer } = recorder((status) =>
      status === 304
        ? { status: 200, headers: { 'content-length': 6, 'x-replaced': '1' }, body: Buffer.from('stored') }
        : undefined,
    );
    const url = await serve((_req, res) => {
      captureResponse(res, observer);
      res.setHeader('x-upstream', 'gone');
      res.writeHead(304);
      expect(res.write('hidden')).toBe(true);
      res.end();
    });
    const r = await send(url);
    expect(r.status).toBe(200);
    expect(r.text).toBe('stored');
    expect(r.headers['x-replaced']).toBe('1');
    expect(r.headers['x-upstream']).toBeUndefined();
    expect(Buffer.concat(seen.body).toString()).toBe('hidden');
  });

  it('release() takes the wrappers off: later writes are not seen', async () => {
    const { seen, observer } = recorder();
    const url = await serve((_req, res) => {
      const release = captureResponse(res, observer);
      release();
      res.end('unseen');
    });
    expect((await send(url)).text).toBe('unseen');
    expect(seen.status).toBe(0);
  });
});

describe('withDetachedResponse', () => {
  it('runs work against a response no client receives, then gives the client its own back', async () => {
    const { seen, observer } = recorder();
    let background: Promise<void> | undefined;
    const url = await serve((req, res) => {
      res.end('client answer');
      const ctx = { req, res } as unknown as GatewayContext;
      background = withDetachedResponse(ctx, async () => {
        expect(ctx.res).not.toBe(res);
        const closed = new Promise((resolve) => ctx.res.once('close', resolve));
        const release = captureResponse(ctx.res, observer);
        ctx.res.writeHead(200, { 'x-background': '1' });
        ctx.res.end('background answer');
        release();
        await closed;
      }).then(() => {
        expect(ctx.res).toBe(res);
      });
    });
    const r = await send(url);
    expect(r.text).toBe('client answer');
    await background;
    expect(Buffer.concat(seen.body).toString()).toBe('background answer');
    expect(seen.headers).toMatchObject({ 'x-background': '1' });
  });
});
