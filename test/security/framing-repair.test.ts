import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expectNotSmuggled, seenFor, statuses } from './support/expect.js';
import { head, RawConnection } from './support/raw.js';
import { type Engine, HOST, type Stack, startStack } from './support/stack.js';

/**
 * RFC 9112 §6.1 and §6.3: a message whose framing the gateway had to repair (HTTP/1.0 with
 * Transfer-Encoding, codings other than plain `chunked`) is answered, then the connection closes
 * whatever `Connection` says; a request hidden after its chunked terminator is never forwarded.
 */

const chunk = (data: string) => `${data.length.toString(16)}\r\n${data}\r\n`;
const hidden = (path: string) => `GET ${path} HTTP/1.1\r\nHost: ${HOST}\r\n\r\n`;

interface RepairCase {
  name: string;
  first(path: string): string;
}

const CASES: RepairCase[] = [
  {
    name: 'HTTP/1.0 + Transfer-Encoding: chunked + Connection: keep-alive',
    first: (p) =>
      `${head(`POST ${p} HTTP/1.0`, `Host: ${HOST}`, 'Transfer-Encoding: chunked', 'Connection: keep-alive')}${chunk('abc')}0\r\n\r\n`,
  },
  {
    name: 'HTTP/1.0 + Transfer-Encoding: chunked with a trailer + Connection: keep-alive',
    first: (p) =>
      `${head(`POST ${p} HTTP/1.0`, `Host: ${HOST}`, 'Transfer-Encoding: chunked', 'Connection: keep-alive')}${chunk('abc')}0\r\nX-T: 1\r\n\r\n`,
  },
  {
    name: 'HTTP/1.1 + Transfer-Encoding: gzip, chunked (a coding the gateway drops)',
    first: (p) =>
      `${head(`POST ${p} HTTP/1.1`, `Host: ${HOST}`, 'Transfer-Encoding: gzip, chunked')}${chunk('abc')}0\r\n\r\n`,
  },
  {
    name: 'HTTP/1.1 + Transfer-Encoding: identity, chunked + Connection: keep-alive',
    first: (p) =>
      `${head(`POST ${p} HTTP/1.1`, `Host: ${HOST}`, 'Transfer-Encoding: identity, chunked', 'Connection: keep-alive')}${chunk('abc')}0\r\n\r\n`,
  },
];

describe.each<Engine>(['undici', 'http-proxy'])(
  'repaired framing closes the connection (%s engine)',
  (engine) => {
    let stack: Stack;
    beforeAll(async () => {
      stack = await startStack({ engine });
    });
    afterAll(async () => {
      await stack?.close();
    });

    CASES.forEach((c, i) => {
      it(`${c.name}: one answer, then closed, nothing smuggled on the upstream wire`, async () => {
        const path = `/public/repair-${engine}-${i}`;
        const smuggled = `/public/smuggled-${engine}-${i}`;
        const conn = await RawConnection.open(stack.port);
        try {
          await conn.write(c.first(path) + hidden(smuggled));
          const reply = await conn.untilClosed();
          const answered = statuses(reply);
          // Refused outright (400) or answered once; never a second answer.
          expect(answered.length).toBe(1);
          if (answered[0] === 200) {
            expect(reply.responses[0]!.headers.connection).toEqual(['close']);
            const seen = seenFor(stack, path);
            expect(seen.length).toBe(1);
          }
          expectNotSmuggled(stack, smuggled);
        } finally {
          conn.destroy();
        }
      });
    });

    it('HTTP/1.0 + Transfer-Encoding: the smuggled request in a later packet is not served either', async () => {
      const path = `/public/repair-late-${engine}`;
      const smuggled = `/public/smuggled-late-${engine}`;
      const conn = await RawConnection.open(stack.port);
      try {
        await conn.write(CASES[0]!.first(path));
        await conn.responses(1);
        if (!conn.isClosed) await conn.write(hidden(smuggled)).catch(() => {});
        const reply = await conn.untilClosed();
        expect(statuses(reply)).toEqual([200]);
        expectNotSmuggled(stack, smuggled);
      } finally {
        conn.destroy();
      }
    });

    it('a plain chunked HTTP/1.1 request keeps its connection (nothing to repair)', async () => {
      const conn = await RawConnection.open(stack.port);
      try {
        await conn.write(
          `${head('POST /public/plain-chunked HTTP/1.1', `Host: ${HOST}`, 'Transfer-Encoding: chunked')}${chunk('abc')}0\r\n\r\n${hidden('/public/plain-next')}`,
        );
        const answers = await conn.responses(2);
        expect(answers.map((r) => r.status)).toEqual([200, 200]);
        expect(conn.isClosed).toBe(false);
      } finally {
        conn.destroy();
      }
    });
  },
);
