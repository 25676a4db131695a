import { once } from 'node:events';
import { createServer, type IncomingMessage, request, type Server, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { PassThrough, type Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isGatewayError } from '../errors.js';
import type { GatewayContext } from '../types.js';
import { bodyLimit } from './body-limit.js';

const MAX = 1024;
const limit = bodyLimit(MAX);

interface Outcome {
  thrown?: string;
  wrapped: boolean;
  received?: number;
  streamError?: string;
}

let server: Server;
let port: number;
const sockets = new Set<Socket>();
let outcomes: Array<(o: Outcome) => void> = [];
let arrivals: Array<() => void> = [];

/** Runs bodyLimit on a real request, then drains ctx.body and reports what happened. */
async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
  const ctx = { req, body: req as Readable } as GatewayContext;
  arrivals.shift()?.();
  const report = (o: Outcome) => {
    outcomes.shift()?.(o);
    if (!res.headersSent) res.writeHead(o.thrown || o.streamError ? 413 : 200, { connection: 'close' }).end();
  };
  try {
    limit(ctx);
  } catch (err) {
    report({
      thrown: isGatewayError(err) ? err.code : String(err),
      wrapped: false,
      received: req.readableLength,
    });
    return;
  }
  const wrapped = ctx.body !== req;
  let received = 0;
  try {
    for await (const chunk of ctx.body) received += (chunk as Buffer).length;
    report({ wrapped, received });
  } catch (err) {
    report({ wrapped, received, streamError: isGatewayError(err) ? err.code : (err as Error).message });
  }
}

beforeAll(async () => {
  server = createServer((req, res) => void handle(req, res));
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  port = (server.address() as { port: number }).port;
});

afterAll(async () => {
  for (const s of sockets) s.destroy();
  server.close();
  await once(server, 'close');
});

/** Sends a request and resolves with what the server saw. `chunks` are written one by one. */
function send(
  headers: Record<string, string>,
  chunks: Buffer[],
  opts: { abort?: boolean } = {},
): Promise<Outcome> {
  const seen = new Promise<Outcome>((resolve) => outcomes.push(resolve));
  const req = request({ port, host: '127.0.0.1', method: 'POST', path: '/', headers });
  req.on('error', () => {}); // the server may close before the whole body is written
  req.on('response', (res) => res.resume());
  for (const c of chunks) req.write(c);
  // Cut the connection once the server is reading the body, instead of finishing it.
  if (opts.abort) arrivals.push(() => req.destroy());
  else req.end();
  return seen;
}

const bytes = (n: number) => Buffer.alloc(n, 0x61);

describe('bodyLimit', () => {
  it('refuses a Content-Length over the limit before reading anything', async () => {
    outcomes = [];
    arrivals = [];
    const o = await send({ 'content-length': String(MAX + 1) }, []);
    expect(o).toEqual({ thrown: 'GW_BODY_TOO_LARGE', wrapped: false, received: 0 });
  });

  it('leaves a body with an acceptable Content-Length alone', async () => {
    const o = await send({ 'content-length': String(MAX) }, [bytes(MAX)]);
    expect(o).toEqual({ wrapped: false, received: MAX });
  });

  it('counts a chunked body and lets one within the limit through', async () => {
    const o = await send({ 'transfer-encoding': 'chunked' }, [bytes(500), bytes(524)]);
    expect(o).toEqual({ wrapped: true, received: MAX });
  });

  it('fails a chunked body once it passes the limit', async () => {
    const o = await send({ 'transfer-encoding': 'chunked' }, [bytes(600), bytes(600), bytes(600)]);
    expect(o.wrapped).toBe(true);
    expect(o.streamError).toBe('GW_BODY_TOO_LARGE');
    expect(o.received).toBeLessThanOrEqual(MAX);
  });

  it('fails the wrapped body when the client goes away mid-stream', async () => {
    const o = await send({ 'transfer-encoding': 'chunked' }, [bytes(100)], { abort: true });
    expect(o.wrapped).toBe(true);
    expect(o.streamError).toBeDefined();
    expect(o.streamError).not.toBe('GW_BODY_TOO_LARGE');
  });

  it('fails without crashing the process when its consumer does not listen for errors', async () => {
    const source = Object.assign(new PassThrough(), {
      headers: { 'transfer-encoding': 'chunked' },
      complete: false,
    });
    const ctx = { req: source, body: source } as unknown as GatewayContext;
    limit(ctx);
    const sink = new PassThrough();
    sink.resume();
    ctx.body.pipe(sink); // pipe() adds no error listener to its source
    const closed = new Promise((resolve) => ctx.body.once('close', resolve));
    source.write(bytes(MAX));
    source.write(bytes(1));
    await closed;
    expect(isGatewayError(ctx.body.errored) && ctx.body.errored.code).toBe('GW_BODY_TOO_LARGE');
  });

  it('does nothing for a request without a body', async () => {
    const ctx = { req: { headers: {} }, body: 'original' } as unknown as GatewayContext;
    limit(ctx);
    expect(ctx.body).toBe('original');
  });

  it('asks for the connection to close with the 413', () => {
    const ctx = { req: { headers: { 'content-length': '999999' } } } as unknown as GatewayContext;
    try {
      limit(ctx);
    } catch (err) {
      expect(isGatewayError(err) && [err.status, err.headers]).toEqual([413, { connection: 'close' }]);
      return;
    }
    throw new Error('expected a refusal');
  });
});
