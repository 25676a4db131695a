import { openapi } from '@lucid/openapi';
import { type RunningGateway, send, startGateway, until } from '@lucid/test-kit';
import { Validator } from '@seriousme/openapi-schema-validator';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import {
  BILLING_30,
  CATALOG_31_YAML,
  type DocUpstream,
  deadUrl,
  docUpstream,
  USERS_30,
} from './upstreams.js';

// biome-ignore lint/suspicious/noExplicitAny: JSON read back from the gateway; the assertions check its shape
type Json = any;

type Doc = {
  openapi: string;
  info: { description: string; 'x-unavailable-services': string[] };
  servers: Array<{ url: string }>;
  paths: Record<string, Record<string, Json>>;
  components: { schemas: Record<string, Json>; securitySchemes: Record<string, Json> };
  tags: Array<{ name: string }>;
};

/**
 * Three stand-in services publish OpenAPI (3.0 JSON, 3.1 YAML, a 3.0 one whose names clash) and a
 * fourth is down: the gateway's /openapi.json is one valid OpenAPI 3.1 document with the gateway's
 * paths and security, the down service reported, and a changed document picked up.
 */
describe('the merged OpenAPI document', () => {
  let users: DocUpstream;
  let catalog: DocUpstream;
  let billing: DocUpstream;
  let gw: RunningGateway;
  let config: Record<string, Json>;

  const doc = async (): Promise<Doc> => (await send(`${gw.url}/openapi.json`)).json<Doc>();

  beforeAll(async () => {
    users = await docUpstream('/openapi.json', JSON.stringify(USERS_30));
    catalog = await docUpstream('/spec/openapi.yaml', CATALOG_31_YAML, 'application/yaml');
    billing = await docUpstream('/v3/api-docs', JSON.stringify(BILLING_30));
    config = {
      logging: { level: 'silent', pretty: false, accessLog: false },
      services: {
        users: { targets: [users.url], openapi: '/openapi.json' },
        catalog: { targets: [catalog.url], openapi: { path: '/spec/openapi.yaml' } },
        billing: { targets: [billing.url], openapi: '/v3/api-docs' },
        ledger: { targets: [await deadUrl()], openapi: '/openapi.json', retry: { attempts: 0 } },
      },
      routes: [
        // Not stripped, GET only: DELETE /users/{id} and /admin/stats are not reachable.
        { prefix: '/users', service: 'users', stripPrefix: false, methods: ['GET'] },
        { prefix: '/shop', service: 'catalog', auth: 'public' },
        { prefix: '/billing', service: 'billing', scopes: ['billing:read'] },
        { prefix: '/ledger', service: 'ledger' },
      ],
    };
    gw = await startGateway(config);
    await until(doc, (d) => !d.info.description.includes('not fetched yet'));
  });

  afterAll(async () => {
    await gw?.close();
    await Promise.all([users?.close(), catalog?.close(), billing?.close()]);
  });

  it('validates against the OpenAPI 3.1 schema, every $ref resolving', async () => {
    const merged = await doc();
    expect(merged.openapi).toBe('3.1.0');
    const validator = new Validator();
    const result = await validator.validate(merged as unknown as Record<string, unknown>);
    expect(result.errors).toBeUndefined();
    expect(result.valid).toBe(true);
    expect(validator.version).toBe('3.1');
    expect(() => validator.resolveRefs()).not.toThrow();
  });

  it('lists operations under the paths a client calls, only where a route takes the method', async () => {
    const { paths } = await doc();
    expect(Object.keys(paths).sort()).toEqual([
      '/billing/invoices',
      '/billing/users/{id}',
      '/shop/items',
      '/shop/items/{sku}',
      '/users',
      '/users/{id}',
    ]);
    expect(Object.keys(paths['/users/{id}']!).sort()).toEqual(['get', 'parameters']);
    expect(paths['/shop/items']!.get.summary).toBe('List the items for sale');
  });

  it('points servers at the gateway, relative to where the document was read, and drops the upstreams own servers', async () => {
    const merged = await doc();
    expect(merged.servers).toEqual([{ url: '/' }]);
    expect(JSON.stringify(merged)).not.toContain('internal');
    // The client's Host never reaches the document (only `openapi.publicUrl` names an origin).
    for (const host of ['api.example.com', 'x"><script>', 'evil.example:1']) {
      const answer = await send(`${gw.url}/openapi.json`, { headers: { host } });
      expect(answer.json<Doc>().servers).toEqual([{ url: '/' }]);
      expect(answer.text).not.toContain(host);
    }
  });

  it('takes security from the gateway rules: bearer on protected routes, none on public ones, scopes listed', async () => {
    const { paths, components } = await doc();
    expect(components.securitySchemes).toEqual({
      gatewayBearer: expect.objectContaining({ type: 'http', scheme: 'bearer', bearerFormat: 'JWT' }),
    });
    expect(paths['/shop/items']!.get.security).toEqual([]);
    expect(paths['/shop/items/{sku}']!.get.security).toEqual([]);
    expect(paths['/users']!.get.security).toEqual([{ gatewayBearer: [] }]);
    expect(paths['/billing/invoices']!.get.security).toEqual([{ gatewayBearer: ['billing:read'] }]);
    expect(paths['/billing/invoices']!.get.responses['403']).toBeDefined();
    expect(paths['/users']!.get.responses['401']).toBeDefined();
    expect(paths['/shop/items']!.get.responses['401']).toBeUndefined();
  });

  it('renames clashing components with the service prefix and rewrites their $refs', async () => {
    const { paths, components } = await doc();
    const schemas = components.schemas;
    expect(schemas.User.properties.id).toBeDefined();
    expect(schemas.billing_User.properties.account).toBeDefined();
    expect(schemas.Error.properties.message).toBeDefined();
    expect(schemas.catalog_Error.required).toEqual(['code']);
    const ref = (p: string, code: string) =>
      paths[p]!.get.responses[code].content['application/json'].schema.$ref;
    expect(ref('/billing/users/{id}', '200')).toBe('#/components/schemas/billing_User');
    expect(ref('/users/{id}', '200')).toBe('#/components/schemas/User');
    expect(ref('/shop/items/{sku}', '404')).toBe('#/components/schemas/catalog_Error');
  });

  it('keeps operationIds unique and tags each operation with its service', async () => {
    const { paths, tags } = await doc();
    const ops = Object.values(paths).flatMap((item) =>
      Object.entries(item)
        .filter(([k]) => k !== 'parameters')
        .map(([, op]) => op),
    );
    const ids = ops.map((op) => op.operationId);
    expect(new Set(ids).size).toBe(ids.length);
    expect(ids).toContain('getUser');
    expect(ids).toContain('billing_getUser');
    expect(paths['/users']!.get.tags).toEqual(['users']);
    expect(paths['/billing/invoices']!.get.tags).toEqual(['billing']);
    expect(tags.map((t) => t.name).sort()).toEqual(['billing', 'catalog', 'users']);
  });

  it('converts OpenAPI 3.0 schemas to 3.1 (nullable, exclusiveMinimum)', async () => {
    const { components } = await doc();
    expect(components.schemas.User.properties.email).toEqual({ type: ['string', 'null'] });
    expect(components.schemas.User.properties.age).toEqual({ type: 'integer', exclusiveMinimum: 0 });
  });

  it('reports the service that is down, in the document and in /health, and serves the rest', async () => {
    const merged = await doc();
    expect(merged.info['x-unavailable-services']).toEqual(['ledger']);
    expect(merged.info.description).toMatch(/ledger: unreachable/);
    const health = (await send(`${gw.url}/health`)).json<Json>();
    expect(health.components.openapi).toEqual({
      healthy: false,
      detail: { services: 3, unavailable: { ledger: 'unreachable' } },
    });
    expect(JSON.stringify(health)).not.toMatch(/127\.0\.0\.1/);
  });

  it('serves the same document as YAML', async () => {
    const yaml = await send(`${gw.url}/openapi.yaml`);
    expect(yaml.status).toBe(200);
    expect(yaml.headers['content-type']).toMatch(/^application\/yaml/);
    expect(parseYaml(yaml.text)).toEqual(await doc());
    const head = await send(`${gw.url}/openapi.json`, { method: 'HEAD' });
    expect(head.status).toBe(200);
    expect(head.text).toBe('');
    // The built-in is its exact path, not a prefix.
    expect((await send(`${gw.url}/openapi.json/x`)).status).toBe(404);
  });

  it('picks up a changed document, and keeps the last good one when a fetch fails', async () => {
    const changed = structuredClone(USERS_30) as Json;
    changed.paths['/users/{id}/avatar'] = {
      get: { operationId: 'avatar', responses: { '200': { description: 'an image' } } },
    };
    users.serve(JSON.stringify(changed));
    await gw.gateway.reload(config);
    const updated = await until(doc, (d) => d.paths['/users/{id}/avatar'] !== undefined);
    expect(updated.paths['/users/{id}/avatar']!.get.security).toEqual([{ gatewayBearer: [] }]);

    users.serve(500);
    await gw.gateway.reload(config);
    const health = await until(
      async () => (await send(`${gw.url}/health`)).json<Json>(),
      (h) => h.components.openapi.detail.stale?.users !== undefined,
    );
    expect(health.components.openapi.detail.stale).toEqual({ users: 'answered 500' });
    expect((await doc()).paths['/users/{id}/avatar']).toBeDefined();
  });
});

describe('the merged document under many Hosts', () => {
  it('is rendered once per merge: 150 requests with rotating Hosts cost no more renders than one Host', async () => {
    const users = await docUpstream('/openapi.json', JSON.stringify(USERS_30));
    const docs = openapi();
    const gw = await startGateway(
      {
        logging: { level: 'silent', pretty: false, accessLog: false },
        services: { users: { targets: [users.url], openapi: '/openapi.json' } },
        routes: [{ prefix: '/users', service: 'users', stripPrefix: false }],
      },
      [docs],
    );
    try {
      const read = async (host: string) => {
        const answer = await send(`${gw.url}/openapi.json`, { headers: { host } });
        return answer.json<Doc>();
      };
      await until(
        () => read('one.example'),
        (d) => Object.keys(d.paths).length > 0,
      );
      const before = docs.catalog!.renders;
      for (let i = 0; i < 150; i++) await read('one.example');
      const oneHost = docs.catalog!.renders - before;
      for (let i = 0; i < 150; i++) {
        const d = await read(`h${i}.example.com:${1000 + i}`);
        expect(d.servers).toEqual([{ url: '/' }]);
      }
      const rotating = docs.catalog!.renders - before - oneHost;
      expect(oneHost).toBe(0);
      expect(rotating).toBe(0);
    } finally {
      await gw.close();
      await users.close();
    }
  });
});
