import type { IncomingMessage, ServerResponse } from 'node:http';
import {
  errorCodeOf,
  FLAG,
  FRAME,
  frame,
  getRequest,
  h2Request,
  headerBlock,
  type RawH2,
  type RunningGateway,
  rawH2,
  send,
  startGateway,
  startUpstream,
  type Upstream,
} from '@lucid/test-kit';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';

// What a hostile HTTP/2 client can try, and what must hold after each: the attacking connection is
// cut or its streams refused, and everyone else is still served, over HTTP/1.1 and HTTP/2 alike.

const NO_ERROR = 0x0;
const REFUSED_STREAM = 0x7;
const CANCEL = 0x8;

describe('HTTP/2 abuse leaves the gateway serving others', () => {
  let upstream: Upstream;
  const held: ServerResponse[] = [];
  let hold = false;
  let gw: RunningGateway;
  let authority: string;
  const raws: RawH2[] = [];
  const raw = async () => {
    const r = await rawH2(gw.port);
    raws.push(r);
    return r;
  };

  /** Both versions still get answers from the gateway and the upstream behind it. */
  const othersAreServed = async () => {
    const h1 = await send(`${gw.url}/api/ok`);
    expect(h1.status).toBe(200);
    const h2 = await h2Request(`${gw.url}/api/ok`);
    expect(h2.status).toBe(200);
  };

  beforeAll(async () => {
    upstream = await startUpstream((_req: IncomingMessage, res: ServerResponse) => {
      if (hold) {
        held.push(res);
        return;
      }
      res.end('ok');
    });
    gw = await startGateway({
      logging: { level: 'silent', pretty: false, accessLog: false },
      server: {
        limits: { headers: '8kb' },
        http2: { maxConcurrentStreams: 5, resets: { burst: 50, rate: 10 } },
      },
      services: { api: { targets: [upstream.url], health: false } },
      routes: [{ prefix: '/api', service: 'api', auth: 'public' }],
    });
    authority = `127.0.0.1:${gw.port}`;
  });
  afterEach(() => {
    for (const r of raws.splice(0)) r.destroy();
    hold = false;
    for (const res of held.splice(0)) res.end('released');
  });
  afterAll(async () => {
    await gw.close();
    await upstream.close();
  });

  it('rapid reset (CVE-2023-44487): a flood of opened-and-cancelled streams ends in a GOAWAY with an error', async () => {
    const before = upstream.seen.length;
    const r = await raw();
    const flood: Buffer[] = [];
    for (let i = 0; i < 2_000; i++) {
      const id = 1 + 2 * i;
      flood.push(
        frame(FRAME.HEADERS, FLAG.END_HEADERS | FLAG.END_STREAM, id, getRequest(authority, '/api/reset')),
      );
      const code = Buffer.alloc(4);
      code.writeUInt32BE(CANCEL);
      flood.push(frame(FRAME.RST_STREAM, 0, id, code));
    }
    r.send(...flood);
    const goaway = await r.waitFor((f) => f.type === FRAME.GOAWAY);
    expect(errorCodeOf(goaway)).not.toBe(NO_ERROR);
    await r.closed;
    // Far fewer than the 2,000 streams opened reached the upstream.
    expect(upstream.seen.length - before).toBeLessThan(500);
    await othersAreServed();
  });

  it('more streams than maxConcurrentStreams: the extra ones are refused, the first five are served', async () => {
    hold = true;
    const r = await raw();
    const streams = Array.from({ length: 8 }, (_, i) => 1 + 2 * i);
    r.send(
      ...streams.map((id) =>
        frame(FRAME.HEADERS, FLAG.END_HEADERS | FLAG.END_STREAM, id, getRequest(authority, `/api/s${id}`)),
      ),
    );
    // Streams past the fifth are reset (REFUSED_STREAM, or PROTOCOL_ERROR once our SETTINGS are acked).
    for (const id of streams.slice(5)) {
      const reset = await r.waitFor((f) => f.type === FRAME.RST_STREAM && f.streamId === id);
      expect([REFUSED_STREAM, 0x1]).toContain(errorCodeOf(reset));
    }
    // Five reached the upstream and wait there; the sixth to eighth never did.
    await expect.poll(() => held.length).toBe(5);
    expect(upstream.seen.filter((s) => ['/s11', '/s13', '/s15'].includes(s.url))).toEqual([]);
    hold = false;
    for (const res of held.splice(0)) res.end('released');
    for (const id of streams.slice(0, 5)) {
      const headers = await r.waitFor((f) => f.type === FRAME.HEADERS && f.streamId === id);
      expect(headers.payload.length).toBeGreaterThan(0);
    }
    await othersAreServed();
  });

  it('a header list over limits.headers resets that stream only; the connection serves the next request', async () => {
    const r = await raw();
    const huge = getRequest(authority, '/api/huge', [['x-big', 'b'.repeat(20_000)]]);
    // Sent as HEADERS plus CONTINUATION frames under the default 16 KiB frame size.
    r.send(
      frame(FRAME.HEADERS, FLAG.END_STREAM, 1, huge.subarray(0, 16_000)),
      frame(FRAME.CONTINUATION, FLAG.END_HEADERS, 1, huge.subarray(16_000)),
    );
    const answer = await r.waitFor(
      (f) => f.streamId === 1 && (f.type === FRAME.RST_STREAM || f.type === FRAME.HEADERS),
    );
    // Either refused outright (ENHANCE_YOUR_CALM) or answered with a 4xx; never forwarded.
    expect(answer.type === FRAME.RST_STREAM || answer.payload.length > 0).toBe(true);
    expect(upstream.seen.some((s) => s.url === '/huge')).toBe(false);
    r.send(
      frame(FRAME.HEADERS, FLAG.END_HEADERS | FLAG.END_STREAM, 3, getRequest(authority, '/api/after-huge')),
    );
    await r.waitFor((f) => f.type === FRAME.HEADERS && f.streamId === 3);
    await othersAreServed();
  });

  it('too many header fields in one request reset the stream, never reach the upstream', async () => {
    const r = await raw();
    const many: Array<[string, string]> = Array.from({ length: 1_200 }, (_, i) => [`x-h${i}`, 'v']);
    const block = getRequest(authority, '/api/many', many);
    const chunks: Buffer[] = [];
    for (let off = 0; off < block.length; off += 16_000) chunks.push(block.subarray(off, off + 16_000));
    r.send(
      ...chunks.map((c, i) =>
        i === 0
          ? frame(FRAME.HEADERS, FLAG.END_STREAM | (chunks.length === 1 ? FLAG.END_HEADERS : 0), 1, c)
          : frame(FRAME.CONTINUATION, i === chunks.length - 1 ? FLAG.END_HEADERS : 0, 1, c),
      ),
    );
    await r.waitFor(
      (f) =>
        (f.streamId === 1 && (f.type === FRAME.RST_STREAM || f.type === FRAME.HEADERS)) ||
        f.type === FRAME.GOAWAY,
    );
    expect(upstream.seen.some((s) => s.url === '/many')).toBe(false);
    await othersAreServed();
  });

  it('a CONTINUATION flood (headers that never end) closes that connection', async () => {
    const r = await raw();
    const flood = [frame(FRAME.HEADERS, 0, 1, getRequest(authority, '/api/cont'))];
    for (let i = 0; i < 2_000; i++)
      flood.push(frame(FRAME.CONTINUATION, 0, 1, headerBlock([[`x-c${i}`, 'c'.repeat(32)]])));
    r.send(...flood);
    await r.closed;
    expect(upstream.seen.some((s) => s.url === '/cont')).toBe(false);
    await othersAreServed();
  });

  it('a SETTINGS flood (every frame owed an ACK) closes that connection', async () => {
    const r = await raw();
    r.socket.pause(); // never reads the ACKs
    const one = frame(FRAME.SETTINGS, 0, 0, Buffer.from([0x00, 0x03, 0x00, 0x00, 0x00, 0x64]));
    r.send(...Array.from({ length: 20_000 }, () => one));
    r.socket.resume();
    const goaway = await r.waitFor((f) => f.type === FRAME.GOAWAY);
    expect(errorCodeOf(goaway)).not.toBe(NO_ERROR);
    await r.closed;
    await othersAreServed();
  });

  it('a PING flood closes that connection', async () => {
    const r = await raw();
    r.socket.pause();
    const ping = frame(FRAME.PING, 0, 0, Buffer.alloc(8, 1));
    r.send(...Array.from({ length: 20_000 }, () => ping));
    r.socket.resume();
    const goaway = await r.waitFor((f) => f.type === FRAME.GOAWAY);
    expect(errorCodeOf(goaway)).not.toBe(NO_ERROR);
    await r.closed;
    await othersAreServed();
  });

  it('a stream to nowhere (a path no route serves) is answered 404 like HTTP/1.1, and streams do not leak', async () => {
    const r = await raw();
    r.send(frame(FRAME.HEADERS, FLAG.END_HEADERS | FLAG.END_STREAM, 1, getRequest(authority, '/nowhere')));
    const headers = await r.waitFor((f) => f.type === FRAME.HEADERS && f.streamId === 1);
    expect(headers.payload.length).toBeGreaterThan(0);
    await othersAreServed();
  });
});
