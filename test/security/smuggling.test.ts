import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expectNotSmuggled, seenFor, statuses, wireLinesFor } from './support/expect.js';
import { head, rawExchange } from './support/raw.js';
import { END, type Engine, HOST, type Stack, startStack } from './support/stack.js';

/**
 * Request framing attacks, written byte for byte. Each case hides a second request (`smuggled`)
 * behind an ambiguous or malformed frame. The gateway must either refuse the frame (400, nothing
 * forwarded), cut the connection (nothing completed upstream), or read it one unambiguous way and
 * forward exactly the one intended request. The smuggled request must never reach the upstream.
 */

type Outcome =
  /** Node's parser refuses it: a 400, the connection closed, nothing forwarded. */
  | 'refused'
  /** Refused after the head was read: the connection is cut, no request completed upstream. */
  | 'cut'
  /** Read one way only: answered and forwarded once, the hidden bytes stay body or are answered on their own. */
  | 'forwarded';

interface FramingCase {
  name: string;
  outcome: Outcome;
  /** The attack for the case's path and the path of the request hidden in it. */
  bytes(path: string, smuggled: string): string;
  /** Bytes the upstream must receive as the body when forwarded (given the hidden request's path). */
  body?: number | ((smuggled: string) => number);
  /** The hidden request is plain body text on the wire (only the upstream's parse of it counts). */
  inBody?: boolean;
  /** HTTP/1.0 closes after one answer: no END request is pipelined behind it. */
  noEnd?: boolean;
  /** Text that must never appear between gateway and upstream. */
  notOnWire?: string;
}

const hidden = (smuggled: string) => `GET ${smuggled} HTTP/1.1\r\nHost: ${HOST}\r\n\r\n`;
const chunk = (data: string) => `${Buffer.byteLength(data, 'latin1').toString(16)}\r\n${data}\r\n`;
const post = (path: string, ...lines: string[]) => head(`POST ${path} HTTP/1.1`, `Host: ${HOST}`, ...lines);

const CASES: FramingCase[] = [
  {
    name: 'CL.TE: Content-Length and Transfer-Encoding together',
    outcome: 'refused',
    bytes: (p, s) => {
      const body = `0\r\n\r\n${hidden(s)}`;
      return post(p, `Content-Length: ${body.length}`, 'Transfer-Encoding: chunked') + body;
    },
  },
  {
    name: 'TE.CL: Transfer-Encoding first, a short Content-Length after',
    outcome: 'refused',
    bytes: (p, s) =>
      `${post(p, 'Transfer-Encoding: chunked', 'Content-Length: 4') + chunk(hidden(s))}0\r\n\r\n`,
  },
  {
    name: 'two different Content-Length headers',
    outcome: 'refused',
    bytes: (p, s) =>
      `${post(p, 'Content-Length: 5', `Content-Length: ${5 + hidden(s).length}`)}hello${hidden(s)}`,
  },
  {
    name: 'two equal Content-Length headers',
    outcome: 'refused',
    bytes: (p) => `${post(p, 'Content-Length: 5', 'Content-Length: 5')}hello`,
  },
  {
    name: 'a Content-Length list "5, 5"',
    outcome: 'refused',
    bytes: (p) => `${post(p, 'Content-Length: 5, 5')}hello`,
  },
  {
    name: 'a signed Content-Length "+5"',
    outcome: 'refused',
    bytes: (p, s) => `${post(p, 'Content-Length: +5')}hello${hidden(s)}`,
  },
  {
    name: 'a hexadecimal Content-Length "0x5"',
    outcome: 'refused',
    bytes: (p, s) => `${post(p, 'Content-Length: 0x5')}hello${hidden(s)}`,
  },
  {
    name: 'obfuscated TE "xchunked" beside a Content-Length',
    outcome: 'refused',
    bytes: (p, s) => `${post(p, 'Transfer-Encoding: xchunked', 'Content-Length: 3')}abc${hidden(s)}`,
  },
  {
    name: 'whitespace before the colon: "Transfer-Encoding : chunked"',
    outcome: 'refused',
    bytes: (p, s) => `${post(p, 'Transfer-Encoding : chunked', 'Content-Length: 5')}0\r\n\r\n${hidden(s)}`,
  },
  {
    name: 'chunked not last: "chunked, identity"',
    outcome: 'refused',
    bytes: (p, s) => `${post(p, 'Transfer-Encoding: chunked, identity')}0\r\n\r\n${hidden(s)}`,
  },
  {
    name: 'chunked twice: "chunked, chunked"',
    outcome: 'refused',
    bytes: (p, s) => `${post(p, 'Transfer-Encoding: chunked, chunked')}0\r\n\r\n${hidden(s)}`,
  },
  {
    name: 'a Transfer-Encoding without chunked ("gzip"): the body length is unknowable',
    outcome: 'cut',
    bytes: (p, s) => `${post(p, 'Transfer-Encoding: gzip')}abc${hidden(s)}`,
  },
  {
    name: 'obs-fold continuing an ordinary header',
    outcome: 'refused',
    bytes: (p) => head(`GET ${p} HTTP/1.1`, `Host: ${HOST}`, 'X-Note: one', ' two'),
  },
  {
    name: 'obs-fold hiding Transfer-Encoding behind a Content-Length',
    outcome: 'refused',
    bytes: (p, s) => `${post(p, 'Transfer-Encoding:', ' chunked', 'Content-Length: 5')}0\r\n\r\n${hidden(s)}`,
  },
  {
    name: 'a folded Content-Length',
    outcome: 'refused',
    bytes: (p, s) => `${post(p, 'Content-Length:', ' 5')}hello${hidden(s)}`,
  },
  {
    name: 'bare LF line endings throughout',
    outcome: 'refused',
    bytes: (p) => `GET ${p} HTTP/1.1\nHost: ${HOST}\nX-Note: a\n\n`,
  },
  {
    name: 'one bare LF among CRLFs',
    outcome: 'refused',
    bytes: (p) => `GET ${p} HTTP/1.1\r\nHost: ${HOST}\nX-Note: a\r\n\r\n`,
  },
  {
    name: 'a bare CR ending a header line',
    outcome: 'refused',
    bytes: (p) => `GET ${p} HTTP/1.1\r\nHost: ${HOST}\rX-Note: a\r\n\r\n`,
  },
  {
    name: 'a bare CR inside a header value',
    outcome: 'refused',
    bytes: (p) => `GET ${p} HTTP/1.1\r\nHost: ${HOST}\r\nX-Note: a\rTransfer-Encoding: chunked\r\n\r\n`,
  },
  {
    name: 'a LF inside a header value (header injection)',
    outcome: 'refused',
    bytes: (p, s) =>
      `POST ${p} HTTP/1.1\r\nHost: ${HOST}\r\nX-Note: a\nContent-Length: 0\r\nContent-Length: ${hidden(s).length}\r\n\r\n${hidden(s)}`,
  },
  {
    name: 'a NUL inside a header value',
    outcome: 'refused',
    bytes: (p) => head(`GET ${p} HTTP/1.1`, `Host: ${HOST}`, 'X-Note: a\0b'),
  },
  {
    name: 'a space inside a header name',
    outcome: 'refused',
    bytes: (p, s) =>
      `${post(p, 'Content Length: 5', `Content-Length: ${5 + hidden(s).length}`)}hello${hidden(s)}`,
  },
  {
    name: 'a request line with trailing junk',
    outcome: 'refused',
    bytes: (p) => head(`GET ${p} HTTP/1.1 junk`, `Host: ${HOST}`),
  },
  {
    // The preface makes the connection HTTP/2 (h2c); what follows must then be frames, not a request.
    name: 'the HTTP/2 preface followed by HTTP/1.1 bytes instead of frames',
    outcome: 'cut',
    bytes: (_p, s) => `PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n${hidden(s)}`,
  },
  {
    name: 'a chunk extension ended by a bare LF',
    outcome: 'cut',
    bytes: (p, s) => `${post(p, 'Transfer-Encoding: chunked')}2;x\nxx\r\n0\r\n\r\n${hidden(s)}`,
  },
  {
    name: 'a chunk size line ended by a bare LF',
    outcome: 'cut',
    bytes: (p, s) => `${post(p, 'Transfer-Encoding: chunked')}2\nxx\r\n0\r\n\r\n${hidden(s)}`,
  },
  {
    name: 'a chunk size that overflows 64 bits',
    outcome: 'cut',
    bytes: (p, s) =>
      `${post(p, 'Transfer-Encoding: chunked')}10000000000000002\r\nxx\r\n0\r\n\r\n${hidden(s)}`,
  },
  {
    name: 'chunk data longer than its size',
    outcome: 'cut',
    bytes: (p, s) => `${post(p, 'Transfer-Encoding: chunked')}2\r\nxxxx\r\n0\r\n\r\n${hidden(s)}`,
  },
  {
    name: 'a request hidden in a Content-Length body stays body',
    outcome: 'forwarded',
    inBody: true,
    body: (s) => hidden(s).length,
    bytes: (p, s) => post(p, `Content-Length: ${hidden(s).length}`) + hidden(s),
  },
  {
    name: 'a request hidden in a chunked body stays body',
    outcome: 'forwarded',
    inBody: true,
    body: (s) => hidden(s).length,
    bytes: (p, s) => `${post(p, 'Transfer-Encoding: chunked') + chunk(hidden(s))}0\r\n\r\n`,
  },
  {
    name: 'a GET with a Content-Length body holding a request',
    outcome: 'forwarded',
    inBody: true,
    body: (s) => hidden(s).length,
    bytes: (p, s) =>
      head(`GET ${p} HTTP/1.1`, `Host: ${HOST}`, `Content-Length: ${hidden(s).length}`) + hidden(s),
  },
  {
    name: 'Transfer-Encoding split over two lines ("identity", then "chunked") is read as chunked, then closed',
    outcome: 'forwarded',
    // Framing the gateway repaired (a coding dropped): the connection closes after it (RFC 9112 §6.3).
    noEnd: true,
    body: 0,
    bytes: (p) => `${post(p, 'Transfer-Encoding: identity', 'Transfer-Encoding: chunked')}0\r\n\r\n`,
  },
  {
    name: 'two Transfer-Encoding: chunked lines',
    outcome: 'refused',
    bytes: (p, s) =>
      `${post(p, 'Transfer-Encoding: chunked', 'Transfer-Encoding: chunked')}0\r\n\r\n${hidden(s)}`,
  },
  {
    name: 'a Content-Length with leading zeros is read as decimal',
    outcome: 'forwarded',
    body: 5,
    bytes: (p) => `${post(p, 'Content-Length: 005')}hello`,
  },
  {
    name: 'a Content-Length with trailing whitespace',
    outcome: 'forwarded',
    body: 5,
    bytes: (p) => `${post(p, 'Content-Length: 5 ')}hello`,
  },
  {
    name: 'an upper-case "CHUNKED"',
    outcome: 'forwarded',
    body: 3,
    bytes: (p) => `${post(p, 'Transfer-Encoding: CHUNKED') + chunk('abc')}0\r\n\r\n`,
  },
  {
    name: 'chunked trailers naming identity and Host never reach the upstream',
    outcome: 'forwarded',
    body: 3,
    notOnWire: 'X-User-Id: admin',
    bytes: (p) =>
      `${post(p, 'Transfer-Encoding: chunked', 'Trailer: X-User-Id') + chunk('abc')}0\r\nX-User-Id: admin\r\nHost: evil.example\r\n\r\n`,
  },
  {
    name: 'a tab as the whitespace after "Transfer-Encoding:"',
    outcome: 'forwarded',
    body: 3,
    bytes: (p) => `${post(p, 'Transfer-Encoding:\tchunked') + chunk('abc')}0\r\n\r\n`,
  },
  {
    name: 'a request line with two spaces is read one way',
    outcome: 'forwarded',
    body: 0,
    bytes: (p) => head(`GET  ${p} HTTP/1.1`, `Host: ${HOST}`),
  },
  {
    name: 'HTTP/1.0 with Transfer-Encoding: framed as sent, then closed',
    outcome: 'forwarded',
    noEnd: true,
    body: 3,
    bytes: (p) =>
      `${head(`POST ${p} HTTP/1.0`, `Host: ${HOST}`, 'Transfer-Encoding: chunked')}${chunk('abc')}0\r\n\r\n`,
  },
  {
    name: 'HTTP/1.0 with Transfer-Encoding and a request after it',
    outcome: 'cut',
    noEnd: true,
    bytes: (p, s) =>
      `${head(`POST ${p} HTTP/1.0`, `Host: ${HOST}`, 'Transfer-Encoding: chunked')}${chunk('abc')}0\r\n\r\n${hidden(s)}`,
  },
];

describe.each<Engine>(['undici', 'http-proxy'])('request framing over raw sockets (%s engine)', (engine) => {
  let stack: Stack;
  beforeAll(async () => {
    stack = await startStack({ engine });
  });
  afterAll(async () => {
    await stack?.close();
  });

  CASES.forEach((c, i) => {
    it(`${c.outcome}: ${c.name}`, async () => {
      const path = `/public/framing-${i}`;
      const smuggled = `/public/smuggled-${i}`;
      const reply = await rawExchange(stack.port, c.bytes(path, smuggled) + (c.noEnd ? '' : END));

      if (c.outcome === 'refused') {
        expect(statuses(reply)).toEqual([400]);
        expect(seenFor(stack, path)).toEqual([]);
        expect(wireLinesFor(stack, path)).toEqual([]);
      } else if (c.outcome === 'cut') {
        // Node refuses the frame after the head was parsed: the answer is a cut connection.
        expect(reply.responses.filter((r) => r.status === 200)).toEqual([]);
        expect(seenFor(stack, path).filter((r) => r.bodySha256 !== '')).toEqual([]);
      } else {
        expect(statuses(reply)).toEqual(c.noEnd ? [200] : [200, 200]);
        const seen = seenFor(stack, path);
        expect(seen).toHaveLength(1);
        expect(seen[0]!.bodyBytes).toBe(typeof c.body === 'function' ? c.body(smuggled) : c.body);
        // The upstream got a framing of the gateway's own, never the client's.
        expect(
          seen[0]!.headers['transfer-encoding'] === undefined ||
            seen[0]!.headers['content-length'] === undefined,
        ).toBe(true);
        if (!c.inBody) expect(wireLinesFor(stack, path)).toHaveLength(1);
      }
      expectNotSmuggled(stack, smuggled, { wire: !c.inBody });
      if (c.notOnWire) expect(stack.tap.bytes()).not.toContain(c.notOnWire);
    });
  });

  it('answers pipelined requests one by one, each forwarded once', async () => {
    const reply = await rawExchange(
      stack.port,
      head('GET /public/pipe-a HTTP/1.1', `Host: ${HOST}`) +
        post('/public/pipe-b', 'Content-Length: 3') +
        'abc' +
        END,
    );
    expect(statuses(reply)).toEqual([200, 200, 200]);
    expect(seenFor(stack, '/public/pipe-a')).toHaveLength(1);
    expect(seenFor(stack, '/public/pipe-b').map((r) => r.bodyBytes)).toEqual([3]);
  });
});
