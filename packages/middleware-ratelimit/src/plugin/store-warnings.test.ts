import { Writable } from 'node:stream';
import { createLogger, type GatewayConfig } from '@lucid/gateway-core';
import { freePort } from '@lucid/test-kit';
import { describe, expect, it } from 'vitest';
import { rateLimit } from './rate-limit.js';

function capture(level: 'warn' | 'debug') {
  const lines: Array<Record<string, unknown>> = [];
  const stream = new Writable({
    write(chunk, _enc, cb) {
      for (const l of chunk.toString().split('\n')) if (l) lines.push(JSON.parse(l));
      cb();
    },
  });
  return { lines, logger: createLogger({ level, pretty: false, accessLog: false }, stream) };
}

/** A rate limiter whose Redis is a port nobody listens on. */
async function withRedisDown(level: 'warn' | 'debug') {
  const port = await freePort();
  const plugin = rateLimit({
    store: 'redis',
    redis: { url: `redis://127.0.0.1:${port}` },
    tiers: { free: '10/min' },
  });
  const log = capture(level);
  plugin.setup?.({
    config: {} as GatewayConfig,
    logger: log.logger,
    // No registry: the limiter keeps its metrics to itself, as before a gateway sets it up.
    registry: undefined as never,
    metricPrefix: 'test_',
  });
  await plugin.start?.({} as never);
  return { plugin, ...log };
}

describe('Redis down: what operators read', () => {
  it('warns in plain words at start, with no library error or stack', async () => {
    const { plugin, lines } = await withRedisDown('warn');
    try {
      expect(lines).toHaveLength(1);
      expect(lines[0]).toMatchObject({
        level: 'warn',
        store: 'redis',
        reason: 'Redis unreachable (connection refused)',
        msg: 'rate-limit store not ready at start; requests follow onStoreError until it is, retrying in the background',
      });
      expect(lines[0]).not.toHaveProperty('err');
      expect(JSON.stringify(lines)).not.toMatch(/"stack"|ioredis|node_modules|Connection is closed/);
      expect(await plugin.health?.()).toMatchObject({
        healthy: false,
        detail: {
          error: expect.stringMatching(
            /^Redis (unreachable \(connection refused\)|not connected \(reconnecting\))$/,
          ),
        },
      });
    } finally {
      await plugin.close?.();
    }
  });

  it('keeps the error with its stack at debug level, for whoever turns it on', async () => {
    const { plugin, lines } = await withRedisDown('debug');
    try {
      const debug = lines.find((l) => l.level === 'debug');
      expect(debug).toMatchObject({ msg: 'rate-limit store error', store: 'redis' });
      expect((debug!.err as { stack: string }).stack).toMatch(/\n\s+at /);
    } finally {
      await plugin.close?.();
    }
  });
});
