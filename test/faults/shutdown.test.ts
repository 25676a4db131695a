import { request } from 'node:http';
import { startUpstream, type Upstream } from '@lucid/test-kit';
import { CliProcess, ensureBuilt, tempProject } from '@lucid/test-kit/cli';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';

/**
 * SIGTERM to the CLI while hundreds of requests are held by a slow upstream: every one of them
 * finishes with its full answer, and the process exits 0.
 */

const cleanups: Array<() => unknown> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

beforeAll(ensureBuilt, 180_000);

interface Held {
  /** Two servers, as one gateway holds at most 256 connections to one target. */
  upstreams: Upstream[];
  /** Resolves once `n` requests are being held. */
  arrived(n: number): Promise<void>;
  release(): void;
}

/** Upstreams that read each request's body, then hold the answer until released. */
async function holdingUpstreams(): Promise<Held> {
  let release!: () => void;
  const released = new Promise<void>((r) => {
    release = r;
  });
  let count = 0;
  const waiters: Array<{ n: number; resolve: () => void }> = [];
  const start = () =>
    startUpstream(
      (_req, res, seen) => {
        count++;
        for (const w of waiters.filter((w) => count >= w.n)) w.resolve();
        void released.then(() => {
          const body = JSON.stringify({ url: seen.url, bytes: seen.bodyBytes });
          res.writeHead(200, {
            'content-type': 'application/json',
            'content-length': Buffer.byteLength(body),
          });
          res.end(body);
        });
      },
      { keepAliveTimeout: 60_000 },
    );
  const upstreams = [await start(), await start()];
  cleanups.push(() => Promise.all(upstreams.map((u) => u.close())));
  return {
    upstreams,
    arrived: (n) =>
      count >= n ? Promise.resolve() : new Promise<void>((resolve) => waiters.push({ n, resolve })),
    release,
  };
}

function call(port: number, path: string, body?: Buffer): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: '127.0.0.1',
        port,
        path,
        method: body ? 'POST' : 'GET',
        agent: false,
        headers: body ? { 'content-length': body.length } : {},
      },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => {
          text += c;
        });
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text }));
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

describe('SIGTERM with hundreds of requests in flight', () => {
  it('finishes all of them, then exits 0', async () => {
    const held = await holdingUpstreams();
    const project = tempProject({
      'gateway.yaml': `
server: { host: 127.0.0.1, port: 0, timeouts: { shutdown: 60s } }
logging: { level: info, pretty: false, accessLog: false }
services: { slow: { targets: [${held.upstreams.map((u) => `"${u.url}"`).join(', ')}], timeout: 60s, health: false } }
routes: [{ prefix: /slow, service: slow, auth: public }]
`,
    });
    cleanups.push(() => project.cleanup());
    const cli = new CliProcess(['start', '--config', 'gateway.yaml'], { cwd: project.dir });
    cleanups.push(() => cli.stop());
    const port = await cli.port();

    const GETS = 250;
    const POSTS = 50;
    const body = Buffer.alloc(64 * 1024, 1);
    const pending = [
      ...Array.from({ length: GETS }, (_, i) => call(port, `/slow/get-${i}`)),
      ...Array.from({ length: POSTS }, (_, i) => call(port, `/slow/post-${i}`, body)),
    ];
    await held.arrived(GETS + POSTS);

    cli.signal('SIGTERM');
    await cli.waitFor('draining: finishing in-flight requests');
    held.release();

    const answers = await Promise.all(pending);
    expect(answers.filter((a) => a.status !== 200)).toEqual([]);
    expect(answers.slice(0, GETS).map((a) => JSON.parse(a.body).url)).toEqual(
      Array.from({ length: GETS }, (_, i) => `/get-${i}`),
    );
    for (const a of answers.slice(GETS)) expect(JSON.parse(a.body).bytes).toBe(body.length);
    expect(await cli.exited).toBe(0);
    expect(cli.lines.at(-1)).toMatchObject({ msg: 'stopped' });
    expect(held.upstreams.reduce((n, u) => n + u.seen.length, 0)).toBe(GETS + POSTS);
  }, 60_000);
});
