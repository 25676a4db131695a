import { Readable } from 'node:stream';
import { text } from 'node:stream/consumers';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { Base64Decoder, Base64Encoder } from './web-text.js';

async function decode(chunks: string[]): Promise<Buffer> {
  const out: Buffer[] = [];
  const decoder = Readable.from(chunks.map((c) => Buffer.from(c, 'latin1'))).pipe(new Base64Decoder());
  for await (const chunk of decoder) out.push(chunk as Buffer);
  return Buffer.concat(out);
}

/** Splits `s` at the given points. */
function split(s: string, cuts: number[]): string[] {
  const points = [...new Set(cuts.map((c) => c % (s.length + 1)))].sort((a, b) => a - b);
  const parts: string[] = [];
  let at = 0;
  for (const p of points) {
    parts.push(s.slice(at, p));
    at = p;
  }
  parts.push(s.slice(at));
  return parts.filter((p) => p !== '');
}

describe('grpc-web-text bodies', () => {
  it('decodes messages each padded on its own, cut anywhere', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.uint8Array({ maxLength: 40 }), { minLength: 1, maxLength: 5 }),
        fc.array(fc.nat(), { maxLength: 8 }),
        async (messages, cuts) => {
          const encoded = messages.map((m) => Buffer.from(m).toString('base64')).join('');
          const decoded = await decode(split(encoded, cuts));
          expect(decoded).toEqual(Buffer.concat(messages.map((m) => Buffer.from(m))));
        },
      ),
    );
  });

  it('fails a body that is not base64, or ends inside a group', async () => {
    await expect(decode(['AAAA', 'AA*A'])).rejects.toThrow(/not base64/);
    await expect(decode(['AAAA\n'])).rejects.toThrow(/not base64/);
    await expect(decode(['AAAAA'])).rejects.toThrow(/inside a base64 group/);
  });

  it('encodes chunks as one continuous base64 stream', () => {
    fc.assert(
      fc.property(
        fc.array(fc.uint8Array({ maxLength: 50 }), { maxLength: 6 }),
        fc.uint8Array({ maxLength: 7 }),
        (chunks, last) => {
          const encoder = new Base64Encoder();
          let out = '';
          for (const c of chunks) {
            const part = encoder.write(Buffer.from(c));
            expect(part.length % 4).toBe(0);
            out += part;
          }
          out += encoder.end(Buffer.from(last));
          const all = Buffer.concat([...chunks.map((c) => Buffer.from(c)), Buffer.from(last)]);
          expect(out).toBe(all.toString('base64'));
        },
      ),
    );
  });

  it('decodes what the encoder wrote', async () => {
    const encoder = new Base64Encoder();
    const body = encoder.write(Buffer.from('hello ')) + encoder.end(Buffer.from('world'));
    const decoded = await decode([body]);
    expect(await text(Readable.from([decoded]))).toBe('hello world');
  });
});
