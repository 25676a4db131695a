import { rmSync, writeFileSync } from 'node:fs';
import { Agent } from 'node:http';
import { join } from 'node:path';
import { startUpstream, type Upstream } from '@lucid/test-kit';
import { CliProcess, ensureBuilt, tempProject } from '@lucid/test-kit/cli';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { get } from './support/http.js';

const cleanups: Array<() => unknown> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});
beforeAll(ensureBuilt, 180_000);

/** An upstream answering with its name; `onRequest` sees each request (to count or to hold it). */
async function named(name: string, onRequest?: (url: string) => Promise<void> | void): Promise<Upstream> {
  const u = await startUpstream(async (_req, res, seen) => {
    await onRequest?.(seen.url);
    res.writeHead(200, { 'content-type': 'text/plain' });
    res.end(name);
  });
  cleanups.push(() => u.close());
  return u;
}

function config(services: Record<string, Upstream>, route: string, extra = ''): string {
  const svc = Object.entries(services)
    .map(([name, u]) => `  ${name}: { targets: ["${u.url}"] }`)
    .join('\n');
  return `server: { host: 127.0.0.1, port: 0 }
services:
${svc}
routes:
  - { prefix: /svc, service: ${route}, auth: public }
${extra}`;
}

function setup(text: string, args: string[] = []) {
  const p = tempProject({ 'gw.yaml': text });
  cleanups.push(() => p.cleanup());
  const cli = new CliProcess(['start', '--config', 'gw.yaml', ...args], { cwd: p.dir });
  cleanups.push(() => cli.stop());
  return { cli, file: join(p.dir, 'gw.yaml') };
}

describe('reload', () => {
  it('changes a route under continuous load with zero failed requests', async () => {
    let bServed = 0;
    let enoughOnB!: () => void;
    const bReady = new Promise<void>((r) => {
      enoughOnB = r;
    });
    let releaseSlow!: () => void;
    const slowHeld = new Promise<void>((r) => {
      releaseSlow = r;
    });
    let slowArrived!: () => void;
    const slowArrival = new Promise<void>((r) => {
      slowArrived = r;
    });
    const a = await named('a', async (url) => {
      if (url !== '/slow') return;
      slowArrived();
      await slowHeld;
    });
    const b = await named('b', () => {
      if (++bServed === 300) enoughOnB();
    });
    const { cli, file } = setup(config({ a, b }, 'a'));
    const port = await cli.port();
    const url = `http://127.0.0.1:${port}/svc/`;

    const agent = new Agent({ keepAlive: true, maxSockets: 8 });
    cleanups.push(() => agent.destroy());
    const failures: string[] = [];
    const seenBy: string[][] = [];
    let loading = true;
    const loop = async (i: number) => {
      const seen: string[] = [];
      seenBy[i] = seen;
      while (loading) {
        try {
          const res = await get(url, { agent });
          if (res.status !== 200) failures.push(`status ${res.status}: ${res.body}`);
          else seen.push(res.body);
        } catch (err) {
          failures.push((err as Error).message);
        }
      }
    };
    const loops = Array.from({ length: 8 }, (_, i) => loop(i));

    // A request in flight on the old route when the config changes.
    const slow = get(`http://127.0.0.1:${port}/svc/slow`);
    await slowArrival;

    writeFileSync(file, config({ a, b }, 'b'));
    const reloaded = cli.next('config reloaded');
    cli.signal('SIGHUP');
    await reloaded;
    await bReady;
    releaseSlow();
    loading = false;
    await Promise.all(loops);

    expect(failures).toEqual([]);
    expect(await slow).toMatchObject({ status: 200, body: 'a' });
    const all = seenBy.flat();
    expect(all.filter((x) => x === 'a').length).toBeGreaterThan(0);
    expect(all.filter((x) => x === 'b').length).toBeGreaterThanOrEqual(300 - 8);
    // The swap is atomic: once a client got an answer from b, it never got one from a again.
    for (const seen of seenBy) expect(seen.slice(seen.indexOf('b'))).not.toContain('a');
    expect(cli.lines.find((l) => l.msg === 'reloading config')).toMatchObject({ reason: 'SIGHUP' });
  }, 60_000);

  it('keeps serving the old config when the new one is invalid, and logs why', async () => {
    const a = await named('a');
    const { cli, file } = setup(config({ a }, 'a'));
    const port = await cli.port();

    writeFileSync(file, config({ a }, 'sevice-a'));
    const refused = cli.next((l) => l.msg?.startsWith('config reload refused') === true);
    cli.signal('SIGHUP');
    const line = await refused;
    expect(line).toMatchObject({
      level: 'error',
      msg: 'config reload refused: the new config is invalid; still serving the previous one',
      problems: [
        'routes[0].service: unknown service "sevice-a" (known: a) (fix: add the service under "services", or route to one that is there)',
      ],
    });
    expect(await get(`http://127.0.0.1:${port}/svc/`)).toMatchObject({ status: 200, body: 'a' });

    // A broken file and an unset variable are refused the same way.
    writeFileSync(file, 'services: [\n');
    const broken = cli.next((l) => l.msg?.startsWith('config reload refused') === true);
    cli.signal('SIGHUP');
    expect((await broken).problems).toEqual([expect.stringMatching(/^line \d+, column \d+: /)]);
    writeFileSync(file, config({ a }, 'a').replace(a.url, '${NOT_SET}'));
    const unset = cli.next((l) => l.msg?.startsWith('config reload refused') === true);
    cli.signal('SIGHUP');
    expect((await unset).problems).toEqual([
      expect.stringMatching(/^services\.a\.targets\[0\]: environment variable NOT_SET is not set/),
    ]);

    expect(await get(`http://127.0.0.1:${port}/svc/`)).toMatchObject({ status: 200, body: 'a' });
    expect(cli.child.exitCode).toBeNull();
  });

  it('refuses a reload when the config file it found at start is gone, rather than falling back', async () => {
    const a = await named('a');
    const p = tempProject({ 'lucid-gateway.config.yaml': config({ a }, 'a') });
    cleanups.push(() => p.cleanup());
    const cli = new CliProcess(['start'], { cwd: p.dir });
    cleanups.push(() => cli.stop());
    const port = await cli.port();
    rmSync(join(p.dir, 'lucid-gateway.config.yaml'));
    const refused = cli.next((l) => l.msg?.startsWith('config reload refused') === true);
    cli.signal('SIGHUP');
    expect((await refused).problems).toEqual([expect.stringMatching(/config file not found/)]);
    expect(await get(`http://127.0.0.1:${port}/svc/`)).toMatchObject({ status: 200, body: 'a' });
  });

  it('reloads on its own with --watch', async () => {
    const a = await named('a');
    const b = await named('b');
    const { cli, file } = setup(config({ a, b }, 'a'), ['--watch']);
    const port = await cli.port();
    expect((await get(`http://127.0.0.1:${port}/svc/`)).body).toBe('a');
    const reloaded = cli.next('config reloaded');
    writeFileSync(file, config({ a, b }, 'b'));
    await reloaded;
    expect(cli.lines.find((l) => l.msg === 'reloading config')).toMatchObject({ reason: 'watch' });
    expect((await get(`http://127.0.0.1:${port}/svc/`)).body).toBe('b');
  });

  it('re-reads the --env-file: a changed variable applies on reload (seen by --watch too)', async () => {
    const a = await named('a');
    const b = await named('b');
    const p = tempProject({
      'gw.yaml': config({ a }, 'a').replace(a.url, '${TARGET}'),
      '.env': `TARGET=${a.url}\n`,
    });
    cleanups.push(() => p.cleanup());
    const cli = new CliProcess(['start', '--config', 'gw.yaml', '--env-file', '.env', '--watch'], {
      cwd: p.dir,
    });
    cleanups.push(() => cli.stop());
    const port = await cli.port();
    expect((await get(`http://127.0.0.1:${port}/svc/`)).body).toBe('a');
    const reloaded = cli.next('config reloaded');
    p.write('.env', `TARGET=${b.url}\n`);
    await reloaded;
    expect((await get(`http://127.0.0.1:${port}/svc/`)).body).toBe('b');
  });

  it('says which plugin settings wait for a restart', async () => {
    const a = await named('a');
    const { cli, file } = setup(config({ a }, 'a', 'rateLimit: { tiers: { free: 100/min } }\n'));
    await cli.port();
    const warned = cli.next((l) => l.level === 'warn');
    writeFileSync(file, config({ a }, 'a', 'rateLimit: { tiers: { free: 5/min } }\n'));
    cli.signal('SIGHUP');
    expect(await warned).toMatchObject({
      sections: ['rateLimit'],
      msg: 'changes to rateLimit apply on restart, not on reload',
    });
    await cli.waitFor('config reloaded');
  });
});
