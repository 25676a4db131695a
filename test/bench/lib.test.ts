import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
// @ts-expect-error plain JavaScript without declarations
import { cpuSeconds, memoryOf, slope, waitForReady } from '../../bench/lib.mjs';

describe('bench helpers', () => {
  it('slope: least squares over the points, MB per minute when x is minutes', () => {
    expect(
      slope([
        [0, 100],
        [1, 102],
        [2, 104],
        [3, 106],
      ]),
    ).toBeCloseTo(2);
    // Noise around a flat line gives a slope near zero, not the last-minus-first difference.
    expect(
      slope([
        [0, 100],
        [1, 103],
        [2, 99],
        [3, 101],
        [4, 100],
      ]),
    ).toBeCloseTo(-0.2);
    expect(slope([[0, 100]])).toBeUndefined();
    expect(
      slope([
        [1, 100],
        [1, 200],
      ]),
    ).toBeUndefined();
  });

  it.skipIf(process.platform !== 'linux')('reads RSS, peak RSS and CPU seconds from /proc', () => {
    const { rss, peak } = memoryOf(process.pid);
    expect(rss).toBeGreaterThan(1);
    expect(peak).toBeGreaterThanOrEqual(rss);
    const before = cpuSeconds(process.pid);
    let x = 0;
    for (let i = 0; i < 3e7; i++) x += i % 7;
    expect(x).toBeGreaterThan(0);
    expect(cpuSeconds(process.pid)).toBeGreaterThan(before);
    // A process that is gone has no numbers, rather than throwing mid-run.
    expect(memoryOf(2 ** 22 + 12345)).toEqual({ rss: undefined, peak: undefined });
    expect(cpuSeconds(2 ** 22 + 12345)).toBeUndefined();
  });

  describe('waitForReady', () => {
    let server: Server | undefined;
    const children: ReturnType<typeof spawn>[] = [];
    afterEach(async () => {
      if (server) await new Promise((r) => server?.close(r));
      server = undefined;
      for (const c of children.splice(0)) {
        if (c.exitCode === null && c.signalCode === null) {
          c.kill('SIGKILL');
          await once(c, 'exit');
        }
      }
    });
    const sleeper = () => {
      const child = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 60_000)'], { stdio: 'ignore' });
      children.push(child);
      return child;
    };

    it('resolves only once the endpoint answers 200', async () => {
      let calls = 0;
      server = createServer((_req, res) => {
        calls++;
        res.statusCode = calls < 3 ? 503 : 200;
        res.end();
      });
      await new Promise<void>((r) => server?.listen(0, '127.0.0.1', r));
      const { port } = server.address() as AddressInfo;
      await waitForReady(`http://127.0.0.1:${port}/health/ready`, sleeper());
      expect(calls).toBe(3);
    });

    it('rejects when the process exits before it is ready', async () => {
      const child = spawn(process.execPath, ['-e', 'process.exit(3)'], { stdio: 'ignore' });
      children.push(child);
      await once(child, 'exit');
      await expect(waitForReady('http://127.0.0.1:9/health/ready', child)).rejects.toThrow(
        /exited before ready/,
      );
    });

    it('rejects after the timeout when nothing answers', async () => {
      await expect(waitForReady('http://127.0.0.1:9/health/ready', sleeper(), 200)).rejects.toThrow(
        /not ready within/,
      );
    });
  });
});
