import { PassThrough, type Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { BodyBudget } from '../proxy/body-buffer.js';
import { ReplayTap } from './replay.js';

async function readSome(body: Readable, bytes: number): Promise<Buffer> {
  const out: Buffer[] = [];
  let got = 0;
  for await (const chunk of body) {
    out.push(chunk as Buffer);
    got += (chunk as Buffer).length;
    if (got >= bytes) break;
  }
  return Buffer.concat(out);
}

async function readAll(body: Readable): Promise<Buffer> {
  const out: Buffer[] = [];
  for await (const chunk of body) out.push(chunk as Buffer);
  return Buffer.concat(out);
}

describe('ReplayTap', () => {
  it('replays what went out, then the rest of the stream', async () => {
    const source = new PassThrough();
    const budget = new BodyBudget(1000);
    const tap = new ReplayTap(source, 100, budget);
    source.write(Buffer.from('hello '));
    const first = tap.body;
    first.on('error', () => {});
    expect((await readSome(first, 6)).toString()).toBe('hello ');
    expect(budget.free).toBe(994);
    const again = tap.replay()!;
    source.end(Buffer.from('world'));
    expect((await readAll(again)).toString()).toBe('hello world');
    tap.release();
    expect(budget.free).toBe(1000);
  });

  it('replays a stream that ended during the failed attempt', async () => {
    const source = new PassThrough();
    const tap = new ReplayTap(source, 100, new BodyBudget(1000));
    source.end(Buffer.from('whole'));
    expect((await readAll(tap.body)).toString()).toBe('whole');
    expect((await readAll(tap.replay()!)).toString()).toBe('whole');
  });

  it('past its bound (or the budget) it keeps nothing and cannot replay', async () => {
    for (const [max, total] of [
      [4, 1000],
      [100, 3],
    ] as const) {
      const source = new PassThrough();
      const budget = new BodyBudget(total);
      const tap = new ReplayTap(source, max, budget);
      source.end(Buffer.from('too long'));
      expect((await readAll(tap.body)).toString()).toBe('too long');
      expect(tap.replayable).toBe(false);
      expect(tap.replay()).toBeUndefined();
      expect(budget.free).toBe(total);
    }
  });

  it("fails the body in use with the client's error", async () => {
    const source = new PassThrough();
    const tap = new ReplayTap(source, 100, new BodyBudget(1000));
    const body = tap.body;
    const failed = new Promise((resolve) => body.once('error', resolve));
    source.destroy(new Error('client left'));
    expect(((await failed) as Error).message).toBe('client left');
  });
});
