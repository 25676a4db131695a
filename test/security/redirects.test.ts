import { type RunningGateway, send, startGateway, startUpstream, type Upstream } from '@lucid/test-kit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

/**
 * Location and Content-Location naming the upstream are rewritten to the gateway's public origin
 * and the route's prefix (like nginx's `proxy_redirect default`), so the upstream's address never
 * leaks; foreign origins and `redirects: preserve` routes stay as sent.
 */

/** Answers 302 with the Location given in `?to=` (`{self}` stands for the upstream's own origin). */
async function startRedirector(): Promise<Upstream> {
  let self = '';
  const up = await startUpstream((req, res) => {
    const q = new URL(req.url ?? '/', 'http://x').searchParams;
    const fill = (v: string | null) => v?.replaceAll('{self}', self);
    const headers: Record<string, string> = { 'content-length': '0' };
    const to = fill(q.get('to'));
    const cl = fill(q.get('cl'));
    if (to) headers.location = to;
    if (cl) headers['content-location'] = cl;
    res.writeHead(to ? 302 : 200, headers);
    res.end();
  });
  self = up.url;
  return up;
}

const ENGINES = ['undici', 'http-proxy'] as const;

describe.each(ENGINES)('redirect rewriting (%s engine)', (engine) => {
  let up: Upstream;
  let gw: RunningGateway;
  let trusted: RunningGateway;
  const routes = [
    { prefix: '/app', service: 'up', auth: 'public' },
    { prefix: '/keep', service: 'up', auth: 'public', stripPrefix: false },
    { prefix: '/raw', service: 'up', auth: 'public', redirects: 'preserve' },
    { prefix: '/users/:id', service: 'up', auth: 'public' },
  ];
  beforeAll(async () => {
    up = await startRedirector();
    const base = {
      logging: { level: 'silent', pretty: false, accessLog: false },
      services: { up: { targets: [up.url], health: false } },
      routes,
    };
    gw = await startGateway({ ...base, server: { engine, allowedHosts: ['api.lucid.dev', '127.0.0.1'] } });
    trusted = await startGateway({ ...base, server: { engine, trustProxy: ['127.0.0.1'] } });
  });
  afterAll(async () => {
    await gw?.close();
    await trusted?.close();
    await up?.close();
  });

  const get = (g: RunningGateway, path: string, headers: Record<string, string> = {}) =>
    send(`${g.url}${path}`, { headers: { host: 'api.lucid.dev', ...headers } });
  const to = (v: string) => `to=${encodeURIComponent(v)}`;

  it('rewrites the target’s own origin to the public origin plus the stripped prefix', async () => {
    const r = await get(gw, `/app/start?${to('{self}/login?next=%2Fhome#top')}`);
    expect(r.status).toBe(302);
    expect(r.headers.location).toBe('http://api.lucid.dev/app/login?next=%2Fhome#top');
    expect(r.headers.location).not.toContain(up.url);
  });

  it('rewrites a path-absolute Location under the prefix, and a scheme-relative one naming the target', async () => {
    expect((await get(gw, `/app/x?${to('/login')}`)).headers.location).toBe('/app/login');
    const hostOnly = up.url.replace('http:', '');
    expect((await get(gw, `/app/x?${to(`${hostOnly}/a`)}`)).headers.location).toBe(
      'http://api.lucid.dev/app/a',
    );
    expect((await get(gw, `/app?${to('{self}/')}`)).headers.location).toBe('http://api.lucid.dev/app/');
  });

  it('keeps the path when the route does not strip its prefix; fills a parameter prefix as matched', async () => {
    expect((await get(gw, `/keep/x?${to('{self}/keep/y')}`)).headers.location).toBe(
      'http://api.lucid.dev/keep/y',
    );
    expect((await get(gw, `/keep/x?${to('/keep/y')}`)).headers.location).toBe('/keep/y');
    expect((await get(gw, `/users/42/x?${to('{self}/profile')}`)).headers.location).toBe(
      'http://api.lucid.dev/users/42/profile',
    );
  });

  it('rewrites Content-Location too', async () => {
    const r = await get(gw, `/app/doc?cl=${encodeURIComponent('{self}/doc/1')}`);
    expect(r.status).toBe(200);
    expect(r.headers['content-location']).toBe('http://api.lucid.dev/app/doc/1');
  });

  it('leaves foreign origins, other ports and relative references alone', async () => {
    for (const v of [
      'https://sso.example/login',
      'http://127.0.0.1:1/x',
      'next',
      '../up',
      '//evil.example/x',
    ]) {
      expect((await get(gw, `/app/x?${to(v)}`)).headers.location, v).toBe(v);
    }
  });

  it('preserves Location on a `redirects: preserve` route', async () => {
    expect((await get(gw, `/raw/x?${to('{self}/login')}`)).headers.location).toBe(`${up.url}/login`);
  });

  it('takes X-Forwarded-Proto/Host only from a trusted proxy', async () => {
    const fwd = { 'x-forwarded-proto': 'https', 'x-forwarded-host': 'public.lucid.dev' };
    expect((await get(trusted, `/app/x?${to('{self}/y')}`, fwd)).headers.location).toBe(
      'https://public.lucid.dev/app/y',
    );
    expect((await get(gw, `/app/x?${to('{self}/y')}`, fwd)).headers.location).toBe(
      'http://api.lucid.dev/app/y',
    );
  });

  it('never puts a Host that would change the URL’s authority into it', async () => {
    const r = await get(trusted, `/app/x?${to('{self}/y')}`, { 'x-forwarded-host': 'evil.example/@x' });
    expect(r.headers.location).toBe('/app/y');
  });
});
