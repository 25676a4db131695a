import { request } from 'node:http';
import { startUpstream, type Upstream } from '@lucid/test-kit';
import { ensureBuilt } from '@lucid/test-kit/cli';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { forkGateway, type GatewayChild } from './support/child.js';
import { digest, patterned } from './support/data.js';

/**
 * 1 GiB up and 1 GiB down through a gateway process whose heap is capped at 128 MB: the body must
 * stream (a buffered body would end the process), arrive whole (hash), and the process must close
 * cleanly afterwards. The default engine carries the full GiB; http-proxy carries 256 MiB (still
 * twice the heap), to keep the suite's time in CI.
 */

const GiB = 1024 ** 3;
const SIZES = { undici: GiB, 'http-proxy': GiB / 4 } as const;

let upstream: Upstream;
let gateway: GatewayChild | undefined;
let expectedDown: Promise<string> | undefined;
let downSize = GiB;

beforeAll(async () => {
  await ensureBuilt();
  upstream = await startUpstream(
    (req, res) => {
      if (req.method === 'POST') {
        digest(req).then((d) => {
          const body = JSON.stringify(d);
          res.writeHead(200, {
            'content-type': 'application/json',
            'content-length': Buffer.byteLength(body),
          });
          res.end(body);
        });
        return;
      }
      const data = patterned(downSize);
      expectedDown = data.sha256;
      res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': downSize });
      data.stream.pipe(res);
    },
    { streaming: true },
  );
}, 120_000);

afterAll(async () => {
  await gateway?.kill();
  await upstream?.close();
});

describe.each(['undici', 'http-proxy'] as const)('streaming through a 128 MB heap (%s engine)', (engine) => {
  const size = SIZES[engine];
  it(`streams ${size / 1024 ** 2} MiB up and down, byte for byte, and exits cleanly`, async () => {
    downSize = size;
    gateway = await forkGateway(
      {
        server: { engine, limits: { body: '2gb' }, timeouts: { request: '10m' } },
        services: { big: { targets: [upstream.url], timeout: '5m', health: false } },
        routes: [{ prefix: '/big', service: 'big', auth: 'public' }],
      },
      ['--max-old-space-size=128'],
    );

    const up = patterned(size);
    const uploaded = await new Promise<{ bytes: number; sha256: string }>((resolve, reject) => {
      const req = request(
        {
          host: '127.0.0.1',
          port: gateway!.port,
          method: 'POST',
          path: '/big/up',
          agent: false,
          headers: { 'content-type': 'application/octet-stream', 'content-length': size },
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => resolve(JSON.parse(Buffer.concat(chunks).toString())));
          res.on('error', reject);
        },
      );
      req.on('error', reject);
      up.stream.pipe(req);
    });
    expect(uploaded).toEqual({ bytes: size, sha256: await up.sha256 });

    const downloaded = await new Promise<{ bytes: number; sha256: string }>((resolve, reject) => {
      const req = request(
        { host: '127.0.0.1', port: gateway!.port, path: '/big/down', agent: false },
        (res) => {
          digest(res).then(resolve, reject);
        },
      );
      req.on('error', reject);
      req.end();
    });
    expect(downloaded).toEqual({ bytes: size, sha256: await expectedDown });

    const { peakHeap, code } = await gateway.close();
    gateway = undefined;
    expect(code).toBe(0);
    expect(peakHeap).toBeLessThan(128 * 1024 ** 2);
  }, 180_000);
});
