import { type RedisServer, startRedis, startUpstream, type Upstream } from '@lucid/test-kit';
import { CliProcess, ensureBuilt, tempProject } from '@lucid/test-kit/cli';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { get } from './support/http.js';

beforeAll(ensureBuilt, 180_000);

describe('start with a cache section (the bundled CLI)', () => {
  let up: Upstream;
  let redis: RedisServer;
  const stops: Array<() => unknown> = [];
  let n = 0;

  beforeAll(async () => {
    up = await startUpstream((_req, res) => {
      n++;
      res.writeHead(200, { 'content-type': 'text/plain', 'cache-control': 'max-age=60' });
      res.end(`block ${n}`);
    });
    redis = await startRedis();
  });
  afterAll(async () => {
    for (const stop of stops.reverse()) await stop();
    await up.close();
    await redis.stop();
  });

  async function cli(extra: string) {
    const p = tempProject({
      'gw.yaml': `
server: { host: 127.0.0.1, port: 0 }
services: { chain: { targets: ["${up.url}"] } }
routes: [{ prefix: /blockchain, service: chain, auth: public, cache: true }]
${extra}
`,
    });
    const proc = new CliProcess(['start', '--config', 'gw.yaml'], { cwd: p.dir });
    stops.push(
      () => proc.stop(),
      () => p.cleanup(),
    );
    return proc.port();
  }

  it('caches in memory, and in Redis reusing rateLimit.redis', async () => {
    const memory = await cli('cache: { store: memory }');
    const first = await get(`http://127.0.0.1:${memory}/blockchain/blocks/latest`);
    const second = await get(`http://127.0.0.1:${memory}/blockchain/blocks/latest`);
    expect(second.body).toBe(first.body);
    expect(second.headers['cache-status']).toMatch(/^lucid; hit/);

    const shared = await cli(
      `cache: { store: redis }\nrateLimit: { store: redis, redis: { url: "${redis.url}" } }`,
    );
    const a = await get(`http://127.0.0.1:${shared}/blockchain/blocks/x`);
    const b = await get(`http://127.0.0.1:${shared}/blockchain/blocks/x`);
    expect(a.headers['cache-status']).toContain('stored');
    expect(b.body).toBe(a.body);
    expect(b.headers['cache-status']).toMatch(/^lucid; hit/);
  });
});
