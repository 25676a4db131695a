import { gunzipSync } from 'node:zlib';
import { jwtAuth } from '@lucid/middleware-auth';
import { type RunningGateway, send, startGateway, until } from '@lucid/test-kit';
import { afterEach, describe, expect, it } from 'vitest';
import { AUTH, hs256 } from '../security/support/token.js';
import { type DocUpstream, docUpstream, USERS_30 } from './upstreams.js';

/** /docs and /openapi.json as built-ins: where they are, who may read them, what the page may load. */

const cleanups: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function setup(extra: Record<string, unknown> = {}, withAuth = false) {
  const users: DocUpstream = await docUpstream('/openapi.json', JSON.stringify(USERS_30));
  cleanups.push(() => users.close());
  const gw: RunningGateway = await startGateway(
    {
      logging: { level: 'silent', pretty: false, accessLog: false },
      services: { users: { targets: [users.url], openapi: '/openapi.json' } },
      routes: [{ prefix: '/users', service: 'users', stripPrefix: false }],
      ...(withAuth && { auth: AUTH }),
      ...extra,
    },
    withAuth ? [jwtAuth(AUTH)] : [],
  );
  cleanups.push(() => gw.close());
  return { gw, users };
}

describe('/docs', () => {
  it('is an offline page: every asset from the gateway, a CSP that allows nothing else', async () => {
    const { gw } = await setup();
    const page = await send(`${gw.url}/docs`);
    expect(page.status).toBe(200);
    expect(page.headers['content-type']).toBe('text/html; charset=utf-8');
    const csp = String(page.headers['content-security-policy']);
    expect(csp).toContain("default-src 'none'");
    expect(csp).toContain("script-src 'self'");
    expect(csp).toContain("connect-src 'self';");
    expect(page.headers['x-frame-options']).toBe('DENY');
    expect(page.text).not.toMatch(/https?:\/\//);
    expect(page.text).toContain('data-spec="/docs/openapi.json"');
    expect((await send(`${gw.url}/docs/`)).text).toBe(page.text);
    expect((await send(`${gw.url}/docs/index.html`)).text).toBe(page.text);
    for (const src of page.text.matchAll(/(?:src|href)="([^"]+)"/g)) {
      const asset = await send(`${gw.url}${src[1]}`);
      expect(asset.status, src[1]).toBe(200);
    }
    const plain = await send(`${gw.url}/docs/assets/swagger-ui-bundle.js`);
    const zipped = await send(`${gw.url}/docs/assets/swagger-ui-bundle.js`, {
      headers: { 'accept-encoding': 'br, gzip;q=0.8' },
    });
    expect(zipped.headers['content-encoding']).toBe('gzip');
    expect(zipped.headers.vary).toBe('accept-encoding');
    expect(gunzipSync(zipped.body).equals(plain.body)).toBe(true);
    expect(zipped.body.length).toBeLessThan(plain.body.length / 2);
    const refused = await send(`${gw.url}/docs/assets/swagger-ui.css`, {
      headers: { 'accept-encoding': 'gzip;q=0' },
    });
    expect(refused.headers['content-encoding']).toBeUndefined();
    const init = await send(`${gw.url}/docs/assets/init.js`);
    expect(init.text).toContain('validatorUrl: null');
    const bundle = await send(`${gw.url}/docs/assets/swagger-ui-bundle.js`, { method: 'HEAD' });
    expect(bundle.headers['content-type']).toBe('text/javascript; charset=utf-8');
    expect(bundle.text).toBe('');
    const doc = (await send(`${gw.url}/docs/openapi.json`)).json();
    expect(doc.openapi).toBe('3.1.0');
    expect((await send(`${gw.url}/`)).json().docs).toBe('/docs');
  });

  it('serves only its listed files: no other file of the package, no way out of it', async () => {
    const { gw } = await setup();
    for (const path of [
      '/docs/assets/package.json',
      '/docs/assets/index.html',
      '/docs/assets/swagger-initializer.js',
      '/docs/assets/',
      '/docs/nothing',
      '/docs/assets/constructor',
      '/docs/assets/__proto__',
    ]) {
      expect((await send(`${gw.url}${path}`)).status, path).toBe(404);
    }
    expect((await send(`${gw.url}/docs/assets/%2e%2e%2fpackage.json`)).status).toBe(400);
    expect((await send(`${gw.url}/docs/assets/../../package.json`)).status).toBe(404);
    expect((await send(`${gw.url}/docs`, { method: 'POST', body: '{}' })).status).toBe(405);
  });

  it('moves, and the document goes with it; /openapi.json can be turned off on its own', async () => {
    const { gw } = await setup({ builtins: { docs: { path: '/reference' }, openapi: false } });
    const page = await send(`${gw.url}/reference`);
    expect(page.status).toBe(200);
    expect(page.text).toContain('data-spec="/reference/openapi.json"');
    expect(page.text).toContain('src="/reference/assets/swagger-ui-bundle.js"');
    expect((await send(`${gw.url}/reference/openapi.json`)).status).toBe(200);
    expect((await send(`${gw.url}/docs`)).status).toBe(404);
    expect((await send(`${gw.url}/openapi.json`)).status).toBe(404);
    expect((await send(`${gw.url}/openapi.yaml`)).status).toBe(404);
  });

  it('turns off: no page, no fetching when nothing serves the document', async () => {
    const { gw, users } = await setup({ builtins: { docs: false, openapi: false } });
    expect((await send(`${gw.url}/docs`)).status).toBe(404);
    expect((await send(`${gw.url}/`)).json().docs).toMatch(/^https:/);
    const health = (await send(`${gw.url}/health`)).json<{ components?: Record<string, unknown> }>();
    expect(health.components?.openapi).toBeUndefined();
    // Even a refresh asked for by hand fetches nothing: the stand-in is never asked for its document.
    await gw.gateway.openapi({ refresh: true });
    expect(users.seen.filter((s) => s.url === '/openapi.json')).toEqual([]);
  });

  it('can require a token with a scope, the document as well', async () => {
    const { gw } = await setup(
      {
        builtins: {
          docs: { auth: 'required', scopes: ['docs:read'] },
          openapi: { auth: 'required', scopes: ['docs:read'] },
        },
      },
      true,
    );
    expect((await send(`${gw.url}/docs`)).status).toBe(401);
    expect((await send(`${gw.url}/docs/openapi.json`)).status).toBe(401);
    expect((await send(`${gw.url}/openapi.json`)).status).toBe(401);
    const plain = { authorization: `Bearer ${hs256({ sub: 'u1' })}` };
    expect((await send(`${gw.url}/docs`, { headers: plain })).status).toBe(403);
    const reader = { authorization: `Bearer ${hs256({ sub: 'u1', scope: 'docs:read' })}` };
    expect((await send(`${gw.url}/docs`, { headers: reader })).status).toBe(200);
    const doc = await until(
      async () => (await send(`${gw.url}/openapi.yaml`, { headers: reader })).text,
      (text) => text.includes('/users/{id}'),
    );
    expect(doc).toContain('openapi: 3.1.0');
  });

  it('gives way to a configured route on the same path', async () => {
    const other = await docUpstream('/openapi.json', '{}');
    cleanups.push(() => other.close());
    const { gw } = await setup({
      services: {
        users: { targets: [other.url], openapi: '/openapi.json' },
        manual: { targets: [other.url] },
      },
      routes: [{ prefix: '/docs', service: 'manual', auth: 'public' }],
    });
    const answer = (await send(`${gw.url}/docs/x`)).json();
    expect(answer).toMatchObject({ url: '/x' });
  });
});
