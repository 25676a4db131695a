import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { createGateway } from './gateway.js';
import { createLogger } from './observability/logger.js';

function capture() {
  const lines: Array<Record<string, unknown>> = [];
  const stream = new Writable({
    write(chunk, _enc, cb) {
      for (const l of chunk.toString().split('\n')) if (l) lines.push(JSON.parse(l));
      cb();
    },
  });
  return { lines, logger: createLogger({ level: 'debug', pretty: false, accessLog: false }, stream) };
}

describe('a plugin that fails: what operators read', () => {
  it('a failing health check: one plain warning, the stack only at debug, nothing internal on /health', async () => {
    const { lines, logger } = capture();
    const gateway = createGateway(
      { services: {}, routes: [] },
      {
        logger,
        plugins: [
          {
            name: 'flaky',
            async health() {
              throw new Error('connect ECONNREFUSED 10.1.2.3:6379\n    at internal (lib.js:1:1)');
            },
            async stop() {
              throw new Error('socket hang up');
            },
          },
        ],
      },
    );
    try {
      const health = await gateway.health();
      expect(health.components?.flaky).toEqual({ healthy: false, detail: { error: 'health check failed' } });
    } finally {
      await gateway.close({ graceMs: 0 });
    }
    const warnings = lines.filter((l) => l.level === 'warn');
    expect(warnings).toEqual([
      expect.objectContaining({
        plugin: 'flaky',
        reason: 'connect ECONNREFUSED 10.1.2.3:6379',
        msg: 'health check failed',
      }),
      expect.objectContaining({
        plugin: 'flaky',
        phase: 'close',
        reason: 'socket hang up',
        msg: 'plugin close failed',
      }),
    ]);
    for (const w of warnings) expect(w).not.toHaveProperty('err');
    const debug = lines.filter((l) => l.level === 'debug' && l.plugin === 'flaky');
    expect(debug.map((l) => (l.err as { stack: string }).stack)).toEqual([
      expect.stringMatching(/\n\s+at /),
      expect.stringMatching(/\n\s+at /),
    ]);
  });
});
