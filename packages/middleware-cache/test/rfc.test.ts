import { h2Request, send } from '@lucid/test-kit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type CachedGateway, cachedGateway, scriptedUpstream } from './support.js';

const NOW = () => new Date().toUTCString();

describe.each(['undici', 'http-proxy'] as const)(
  'RFC 9111 shared cache (memory store, %s engine)',
  (engine) => {
    let up: Awaited<ReturnType<typeof scriptedUpstream>>;
    let gw: CachedGateway;

    beforeAll(async () => {
      up = await scriptedUpstream({
        '/fresh': (_r, n) => ({
          headers: { 'cache-control': 'max-age=60', date: NOW() },
          body: `fresh ${n}`,
        }),
        '/smax': (_r, n) => ({ headers: { 'cache-control': 'max-age=0, s-maxage=60' }, body: `smax ${n}` }),
        '/expires': (_r, n) => ({
          headers: { expires: new Date(Date.now() + 60_000).toUTCString(), date: NOW() },
          body: `exp ${n}`,
        }),
        '/no-store': (_r, n) => ({ headers: { 'cache-control': 'no-store' }, body: `ns ${n}` }),
        '/private': (_r, n) => ({ headers: { 'cache-control': 'private, max-age=60' }, body: `pv ${n}` }),
        '/cookie': (_r, n) => ({
          headers: { 'cache-control': 'public, max-age=60', 'set-cookie': `s=${n}` },
          body: `ck ${n}`,
        }),
        '/vary-star': (_r, n) => ({ headers: { 'cache-control': 'max-age=60', vary: '*' }, body: `vs ${n}` }),
        '/vary': (r, n) => ({
          headers: { 'cache-control': 'max-age=60', vary: 'Accept-Language' },
          body: `lang ${r.headers['accept-language']} ${n}`,
        }),
        '/none': (_r, n) => ({ body: `none ${n}` }),
        '/old': (_r, n) => ({ headers: { 'cache-control': 'max-age=60', age: '30' }, body: `old ${n}` }),
        '/public-auth': (_r, n) => ({ headers: { 'cache-control': 'public, max-age=60' }, body: `pa ${n}` }),
        '/maxage-auth': (_r, n) => ({ headers: { 'cache-control': 'max-age=60' }, body: `ma ${n}` }),
        '/etag': (r, n) =>
          r.headers['if-none-match'] === '"v1"'
            ? { status: 304, headers: { etag: '"v1"', 'cache-control': 'max-age=0' } }
            : { headers: { etag: '"v1"', 'cache-control': 'max-age=0' }, body: `etag ${n}` },
        '/nocache': (r, n) =>
          r.headers['if-none-match'] === '"n1"'
            ? { status: 304, headers: { etag: '"n1"', 'cache-control': 'no-cache' } }
            : { headers: { etag: '"n1"', 'cache-control': 'no-cache' }, body: `nc ${n}` },
        '/post': (_r, n) => ({ headers: { 'cache-control': 'max-age=60' }, body: `post ${n}` }),
        '/q': (r) => ({ headers: { 'cache-control': 'max-age=60' }, body: `q ${r.url}` }),
        '/host': (r) => ({
          headers: { 'cache-control': 'max-age=60' },
          body: `host ${r.headers['x-forwarded-host']}`,
        }),
        '/h2': (_r, n) => ({ headers: { 'cache-control': 'max-age=60' }, body: `h2 ${n}` }),
        '/head': (_r, n) => ({ headers: { 'cache-control': 'max-age=60' }, body: `head ${n}` }),
        '/big': () => ({ headers: { 'cache-control': 'max-age=60' }, body: Buffer.alloc(5000, 97) }),
      });
      gw = await cachedGateway(up, {
        cache: { maxEntry: '4kb', maxSize: '1mb' },
        route: { ttl: '30s' },
        server: { engine },
      });
    });
    afterAll(async () => {
      await gw.close();
      await up.close();
    });

    const get = (path: string, headers: Record<string, string> = {}, method = 'GET') =>
      send(`${gw.url}/api${path}`, { headers, method });

    it('stores max-age answers and serves them with Age and Cache-Status', async () => {
      const a = await get('/fresh');
      expect(a.text).toBe('fresh 1');
      expect(a.headers['cache-status']).toBe('lucid; fwd=uri-miss; fwd-status=200; stored');
      const b = await get('/fresh');
      expect(b.text).toBe('fresh 1');
      expect(b.headers['cache-status']).toMatch(/^lucid; hit; ttl=\d+$/);
      expect(b.headers.age).toMatch(/^\d+$/);
      expect(b.headers['x-request-id']).not.toBe(a.headers['x-request-id']);
      expect(up.hits('/fresh')).toBe(1);
    });

    it('counts the upstream Age: an answer 30 s old is served with Age ≥ 30', async () => {
      await get('/old');
      const b = await get('/old');
      expect(b.text).toBe('old 1');
      expect(Number(b.headers.age)).toBeGreaterThanOrEqual(30);
    });

    it('honours s-maxage over max-age, and Expires', async () => {
      await get('/smax');
      expect((await get('/smax')).text).toBe('smax 1');
      await get('/expires');
      expect((await get('/expires')).text).toBe('exp 1');
    });

    it.each(['/no-store', '/private', '/cookie', '/vary-star'])('never stores %s', async (path) => {
      await get(path);
      const b = await get(path);
      expect(b.text).toMatch(/ 2$/);
      expect(b.headers['cache-status']).not.toMatch(/stored/);
    });

    it('a Set-Cookie answer never reaches a second client', async () => {
      const b = await get('/cookie');
      expect(b.headers['set-cookie']).toEqual([`s=${up.hits('/cookie')}`]);
    });

    it('keys by the Vary headers the upstream names', async () => {
      expect((await get('/vary', { 'accept-language': 'en' })).text).toBe('lang en 1');
      expect((await get('/vary', { 'accept-language': 'de' })).text).toBe('lang de 2');
      expect((await get('/vary', { 'accept-language': 'en' })).text).toBe('lang en 1');
      expect((await get('/vary', { 'accept-language': 'de' })).text).toBe('lang de 2');
      expect(up.hits('/vary')).toBe(2);
    });

    it("uses the route's ttl when the upstream gives no freshness", async () => {
      await get('/none');
      const b = await get('/none');
      expect(b.text).toBe('none 1');
      // The upstream's own (absent) Cache-Control is what clients see, not the route's ttl.
      expect(b.headers['cache-control']).toBeUndefined();
    });

    it('an authenticated request is stored only when the upstream allows it (public)', async () => {
      await get('/public-auth', { authorization: 'Bearer a' });
      expect((await get('/public-auth', { authorization: 'Bearer b' })).text).toBe('pa 1');
      await get('/maxage-auth', { authorization: 'Bearer a' });
      expect((await get('/maxage-auth', { authorization: 'Bearer a' })).text).toBe('ma 2');
      // A request with a cookie is treated as credentialed too.
      await get('/maxage-auth', { cookie: 'session=x' });
      expect((await get('/maxage-auth', { cookie: 'session=x' })).text).toBe('ma 4');
    });

    it('revalidates a stale entry with If-None-Match; a 304 refreshes it', async () => {
      expect((await get('/etag')).text).toBe('etag 1');
      const b = await get('/etag');
      expect(b.status).toBe(200);
      expect(b.text).toBe('etag 1');
      expect(b.headers['cache-status']).toBe('lucid; fwd=stale; fwd-status=304');
      expect(up.seen.filter((s) => s.url === '/etag').at(-1)!.headers['if-none-match']).toBe('"v1"');
    });

    it('no-cache answers with a validator are kept and revalidated on each use', async () => {
      await get('/nocache');
      const b = await get('/nocache');
      expect(b.text).toBe('nc 1');
      expect(b.headers['cache-status']).toContain('fwd-status=304');
      expect(up.hits('/nocache')).toBe(2);
    });

    it("answers a client's matching If-None-Match with 304, from the store and on a miss", async () => {
      await get('/fresh');
      const hit = await get('/fresh', { 'if-none-match': 'W/"x", "nope"' });
      expect(hit.status).toBe(200);
      const q = await get('/etag', { 'if-none-match': '"v1"' });
      // The cache's own validator went upstream, once, not merged with the client's.
      expect(up.seen.filter((x) => x.url === '/etag').at(-1)!.headers['if-none-match']).toBe('"v1"');
      expect(q.status).toBe(304);
      expect(q.body.length).toBe(0);
      expect(q.headers.etag).toBe('"v1"');
    });

    it('a HEAD is answered from a stored GET, without a body', async () => {
      await get('/head');
      const h = await get('/head', {}, 'HEAD');
      expect(h.status).toBe(200);
      expect(h.body.length).toBe(0);
      expect(h.headers['cache-status']).toMatch(/hit/);
      expect(up.hits('/head')).toBe(1);
    });

    it('a successful POST drops what is stored for its path', async () => {
      await get('/post');
      expect((await get('/post')).text).toBe('post 1');
      await get('/post', {}, 'POST');
      expect((await get('/post')).text).toBe('post 3');
    });

    it('sorts the query for the key, keeping repeated names in order', async () => {
      await get('/q?b=2&a=1');
      expect((await get('/q?a=1&b=2')).text).toBe('q /q?b=2&a=1');
      expect((await get('/q?a=1&a=2')).text).toBe('q /q?a=1&a=2');
      expect((await get('/q?a=2&a=1')).text).toBe('q /q?a=2&a=1');
    });

    it('normalized path variants share one entry', async () => {
      await get('/fresh');
      for (const p of ['//fresh', '/./fresh', '/x/../fresh']) {
        const r = await send(`${gw.url}/api${p}`);
        expect(r.text).toBe('fresh 1');
      }
    });

    it('a Host header cannot poison another host: the host is in the key', async () => {
      const a = await get('/host', { host: 'evil.example' });
      expect(a.text).toBe('host evil.example');
      const b = await get('/host', { host: 'good.example' });
      expect(b.text).toBe('host good.example');
    });

    it('a body over maxEntry streams through and is not stored', async () => {
      const a = await get('/big');
      expect(a.body.length).toBe(5000);
      expect(a.headers['cache-status']).toContain('too-large');
      await get('/big');
      expect(up.hits('/big')).toBe(2);
    });

    it('client Cache-Control: no-cache does not make the cache refetch', async () => {
      await get('/fresh');
      const n = up.hits('/fresh');
      await get('/fresh', { 'cache-control': 'no-cache', pragma: 'no-cache' });
      expect(up.hits('/fresh')).toBe(n);
    });

    // The http-proxy engine does not serve HTTP/2 clients (502 with or without a cache).
    it.runIf(engine === 'undici')(
      'HTTP/2 clients (h2c) get stored answers, misses and revalidated answers alike',
      async () => {
        const miss = await h2Request(`${gw.url}/api/h2`);
        expect(miss.body.toString()).toBe('h2 1');
        const hit = await h2Request(`${gw.url}/api/h2`);
        expect(hit.body.toString()).toBe('h2 1');
        expect(hit.headers['cache-status']).toMatch(/^lucid; hit/);
        await get('/etag');
        const revalidated = await h2Request(`${gw.url}/api/etag`);
        expect(revalidated.status).toBe(200);
        expect(revalidated.body.toString()).toBe('etag 1');
        expect(revalidated.headers['cache-status']).toBe('lucid; fwd=stale; fwd-status=304');
      },
    );

    it('a huge query is served uncached rather than kept as a key', async () => {
      const q = `/q?${'a'.repeat(5000)}=1`;
      const r = await get(q);
      expect(r.status).toBe(200);
      expect(r.headers['cache-status']).toBe('lucid; fwd=bypass; detail=key-too-long');
    });

    it('a Range request passes through uncached', async () => {
      const r = await get('/fresh', { range: 'bytes=0-1' });
      expect(r.headers['cache-status']).toBe('lucid; fwd=bypass; detail=range');
    });

    it('an unkeyed request header the upstream names in Vary cannot poison others', async () => {
      await get('/vary', { 'accept-language': '<script>' });
      const clean = await get('/vary', { 'accept-language': 'fr' });
      expect(clean.text).not.toContain('<script>');
    });

    it('counts results in lucid_gateway_cache_requests_total', async () => {
      const m = await send(`${gw.url}/metrics`);
      expect(m.text).toMatch(/lucid_gateway_cache_requests_total\{route="\/api",result="hit"\} \d+/);
      expect(m.text).toMatch(/lucid_gateway_cache_stored_bytes \d+/);
    });
  },
);
