import { Writable } from 'node:stream';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { createLogger, rawLineTargetOf } from './logger.js';

/** An in-memory destination that parses each JSON line pino writes. */
function sink() {
  const lines: Record<string, unknown>[] = [];
  const stream = new Writable({
    write(chunk, _enc, cb) {
      for (const line of chunk.toString().split('\n')) if (line) lines.push(JSON.parse(line));
      cb();
    },
  });
  return { stream, lines };
}

const base = { level: 'info', pretty: false, accessLog: true } as const;

describe('createLogger', () => {
  it('writes JSON lines with the name and a level label', () => {
    const { stream, lines } = sink();
    createLogger(base, stream).info({ port: 8080 }, 'listening');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({ level: 'info', name: 'lucid-gateway', port: 8080, msg: 'listening' });
    expect(lines[0]).not.toHaveProperty('pid');
  });

  it('takes the name from the options', () => {
    const { stream, lines } = sink();
    createLogger({ ...base, name: 'edge-1' }, stream).info('x');
    expect(lines[0]?.name).toBe('edge-1');
  });

  it('honours the configured level', () => {
    const { stream, lines } = sink();
    const logger = createLogger({ ...base, level: 'warn' }, stream);
    logger.info('dropped');
    logger.warn('kept');
    expect(lines.map((l) => l.msg)).toEqual(['kept']);
  });

  it('never writes authorization headers or cookies', () => {
    const { stream, lines } = sink();
    const logger = createLogger(base, stream);
    logger.info({
      req: { headers: { authorization: 'Bearer secret-1', cookie: 'sid=secret-2', accept: '*/*' } },
    });
    logger.info({ headers: { authorization: 'Bearer secret-3', cookie: 'sid=secret-4' } });
    logger.info({ upstream: { authorization: 'Basic secret-5', 'set-cookie': 'sid=secret-6' } });
    const text = JSON.stringify(lines);
    for (let i = 1; i <= 6; i++) expect(text).not.toContain(`secret-${i}`);
    expect(lines[0]).toMatchObject({ req: { headers: { authorization: '[redacted]', accept: '*/*' } } });
  });

  it('pretty-prints in this process when asked (no worker thread), and keeps JSON lines off the raw path', () => {
    const logger = createLogger({ ...base, pretty: true });
    const stream = (logger as unknown as Record<symbol, unknown>)[pino.symbols.streamSym] as object;
    expect(stream.constructor.name).not.toBe('ThreadStream');
    expect(rawLineTargetOf(logger)).toBeUndefined();
    expect(rawLineTargetOf(createLogger(base, sink().stream))).toBeDefined();
  });

  it('writes to stdout asynchronously by default', async () => {
    const logger = createLogger(base);
    const stream = (logger as unknown as Record<symbol, unknown>)[
      pino.symbols.streamSym
    ] as NodeJS.EventEmitter & {
      sync: boolean;
      fd: number;
      end(): void;
    };
    expect(stream.sync).toBe(false);
    expect(stream.fd).toBe(1);
    // Ending a stdout destination leaves fd 1 open (sonic-boom never closes 1 or 2).
    const closed = new Promise((resolve) => stream.once('close', resolve));
    stream.end();
    await closed;
  });
});
