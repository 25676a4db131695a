import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type RunningGateway, send, startGateway, startUpstream, until } from '@lucid/test-kit';
import { afterEach, describe, expect, it } from 'vitest';
import { CATALOG_31_YAML } from './upstreams.js';

/**
 * Fetching the documents: bounded in size and time, no redirects followed, only OpenAPI 3.0/3.1
 * accepted, files read as well; each failure named in words that show no internal address.
 */

const cleanups: Array<() => unknown> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

type Doc = {
  info: { description: string; 'x-unavailable-services': string[] };
  paths: Record<string, unknown>;
};

/** A gateway in front of `services`, each under `/<name>`, after one refresh of every document. */
async function merged(
  services: Record<string, Record<string, unknown>>,
  openapi: Record<string, unknown> = {},
) {
  const gw: RunningGateway = await startGateway({
    logging: { level: 'silent', pretty: false, accessLog: false },
    services,
    routes: Object.keys(services).map((name) => ({ prefix: `/${name}`, service: name, auth: 'public' })),
    openapi,
  });
  cleanups.push(() => gw.close());
  const doc = (await gw.gateway.openapi({ refresh: true })) as Doc;
  return { gw, doc };
}

async function answering(handler: Parameters<typeof startUpstream>[0]) {
  const u = await startUpstream(handler);
  cleanups.push(() => u.close());
  return u.url;
}

const minimal = (version: string) =>
  JSON.stringify({
    openapi: version,
    info: { title: 't', version: '1' },
    paths: { '/a': { get: { responses: { '200': { description: 'ok' } } } } },
  });

describe('fetching OpenAPI documents', () => {
  it('fetches again on its interval, and sooner while a service has no document yet', async () => {
    let users: string | number = 503;
    let items = minimal('3.0.3');
    const url = await answering((req, res) => {
      const body = req.url === '/users' ? users : items;
      if (typeof body === 'number') {
        res.writeHead(body, { 'content-length': 0 });
        res.end();
        return;
      }
      res.writeHead(200, { 'content-length': Buffer.byteLength(body) });
      res.end(body);
    });
    const gw = await startGateway({
      logging: { level: 'silent', pretty: false, accessLog: false },
      services: {
        users: { targets: [url], openapi: '/users' },
        items: { targets: [url], openapi: '/items' },
      },
      routes: [
        { prefix: '/users', service: 'users', auth: 'public' },
        { prefix: '/items', service: 'items', auth: 'public' },
      ],
      // The interval is long for users' sake: only the retry of a missing document can fetch it.
      openapi: { refresh: '1h' },
    });
    cleanups.push(() => gw.close());
    const read = async () => (await send(`${gw.url}/openapi.json`)).json<Doc>();
    await until(read, (d) => d.info.description.includes('users: answered 503'));
    users = minimal('3.1.0');
    const found = await until(read, (d) => d.paths['/users/a'] !== undefined, 400);
    expect(found.info['x-unavailable-services']).toEqual([]);

    // The interval itself: a short one picks up a changed document with no reload.
    await gw.gateway.reload({ ...gw.gateway.config, openapi: { refresh: '100ms' } });
    items = items.replace('"/a"', '"/b"');
    const changed = await until(read, (d) => d.paths['/items/b'] !== undefined);
    expect(changed.paths['/items/a']).toBeUndefined();
  });

  it('refuses a document over openapi.maxSize, declared or streamed', async () => {
    const big = `{"openapi":"3.1.0","info":{"title":"t","version":"1"},"x-pad":"${'x'.repeat(200_000)}","paths":{}}`;
    const declared = await answering((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(big) });
      res.end(big);
    });
    const chunked = await answering((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.write(big.slice(0, 100_000));
      res.end(big.slice(100_000));
    });
    const { doc } = await merged(
      { declared: { targets: [declared], openapi: '/d' }, chunked: { targets: [chunked], openapi: '/d' } },
      { maxSize: '100kb' },
    );
    expect(doc.info['x-unavailable-services']).toEqual(['declared', 'chunked']);
    expect(doc.info.description).toContain('declared: larger than 102400 bytes');
    expect(doc.info.description).toContain('chunked: larger than 102400 bytes');
  });

  it('gives up on an upstream that never answers after openapi.timeout', async () => {
    const hanging = await answering(() => {}); // never writes a response
    const { doc } = await merged({ slow: { targets: [hanging], openapi: '/d' } }, { timeout: '200ms' });
    expect(doc.info.description).toContain('slow: timed out');
  });

  it('follows no redirect and accepts only OpenAPI 3.0 and 3.1', async () => {
    const url = await answering((req, res) => {
      const docs: Record<string, string> = {
        '/swagger': JSON.stringify({ swagger: '2.0', info: { title: 't', version: '1' }, paths: {} }),
        '/v32': minimal('3.2.0'),
        '/yaml-bomb':
          'a: &a [x, x, x, x, x, x, x, x, x, x]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a]\nc: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b, *b]\nd: [*c, *c, *c, *c, *c, *c, *c, *c, *c, *c, *c, *c, *c, *c, *c, *c, *c, *c, *c, *c]\n',
        '/garbage': '{ not json',
        '/list': '[1, 2]',
      };
      if (req.url === '/moved') {
        res.writeHead(302, { location: '/ok', 'content-length': 0 });
        res.end();
        return;
      }
      const body = docs[req.url ?? ''] ?? minimal('3.0.1');
      res.writeHead(200, { 'content-length': Buffer.byteLength(body) });
      res.end(body);
    });
    const services = Object.fromEntries(
      ['moved', 'swagger', 'v32', 'yaml-bomb', 'garbage', 'list', 'ok'].map((p) => [
        p.replace('-', '_'),
        { targets: [url], openapi: `/${p}` },
      ]),
    );
    const { doc } = await merged(services);
    const text = doc.info.description;
    expect(text).toContain('moved: answered 302');
    expect(text).toContain('swagger: unsupported document version (swagger 2.0)');
    expect(text).toContain('v32: unsupported document version (openapi 3.2.0)');
    expect(text).toContain('yaml_bomb: not valid JSON or YAML');
    expect(text).toContain('garbage: not valid JSON or YAML');
    expect(text).toContain('list: not an OpenAPI document');
    expect(doc.info['x-unavailable-services']).not.toContain('ok');
    expect(Object.keys(doc.paths)).toEqual(['/ok/a']);
    expect(text).not.toMatch(/127\.0\.0\.1/);
  });

  it('reads a document from a file (YAML), and reports a file that is not there', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'lucid-openapi-'));
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
    const file = join(dir, 'catalog.yaml');
    writeFileSync(file, CATALOG_31_YAML);
    const upstream = await answering((_req, res) => res.end());
    const { doc, gw } = await merged({
      catalog: { targets: [upstream], openapi: { file } },
      gone: { targets: [upstream], openapi: { file: join(dir, 'gone.yaml') } },
    });
    expect(Object.keys(doc.paths).sort()).toEqual(['/catalog/items', '/catalog/items/{sku}']);
    expect(doc.info.description).toContain('gone: file not found');
    expect(doc.info.description).not.toContain(dir);
    const health = (await send(`${gw.url}/health`)).json<{ components: { openapi: { detail: unknown } } }>();
    expect(health.components.openapi.detail).toHaveProperty('unavailable');
    expect((health.components.openapi.detail as { unavailable: unknown }).unavailable).toEqual({
      gone: 'file not found',
    });
  });
});
