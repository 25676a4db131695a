import { createHash } from 'node:crypto';
import { type OpenApiPlugin, openapi, requestValidation } from '@lucid/openapi';
import { type RunningGateway, send, startGateway, startUpstream, type Upstream } from '@lucid/test-kit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { doc30, doc31 } from '../../packages/openapi/src/validation/fixtures.js';

/**
 * Request validation through a real gateway, against real upstreams that publish a 3.0 and a 3.1
 * document: what is refused never reaches the upstream, what passes arrives byte for byte.
 */

const TENANT = '1b4e28ba-2fa1-11d2-883f-0016d3cca427';
const LOG = { level: 'info', pretty: false, accessLog: false };

/** A service that publishes `doc` at /openapi.json (changeable), echoes requests, and answers GET /v1/payments with `answer`. */
async function service(
  doc: unknown,
): Promise<Upstream & { publish(d: unknown): void; answer: { status: number; body: string } }> {
  let current = doc;
  const answer = { status: 200, body: '[]' };
  const upstream = await startUpstream((req, res, seen) => {
    if (req.url === '/openapi.json') {
      if (current === undefined) {
        res.writeHead(404, { 'content-length': 0 });
        res.end();
        return;
      }
      const body = JSON.stringify(current);
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
      res.end(body);
      return;
    }
    if (req.method === 'GET' && req.url?.startsWith('/v1/payments?')) {
      res.writeHead(answer.status, {
        'content-type': 'application/json',
        'content-length': Buffer.byteLength(answer.body),
      });
      res.end(answer.body);
      return;
    }
    const body = JSON.stringify({
      method: seen.method,
      url: seen.url,
      sha256: seen.bodySha256,
      bytes: seen.bodyBytes,
    });
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
    res.end(body);
  });
  return Object.assign(upstream, {
    publish(d: unknown) {
      current = d;
    },
    answer,
  });
}

const sha = (s: string | Buffer) => createHash('sha256').update(s).digest('hex');

describe('request validation through the gateway', () => {
  let s30: Awaited<ReturnType<typeof service>>;
  let s31: Awaited<ReturnType<typeof service>>;
  let none: Awaited<ReturnType<typeof service>>;
  let docs: OpenApiPlugin;
  let gw: RunningGateway;
  const all = () => [s30, s31, none];

  beforeAll(async () => {
    [s30, s31, none] = await Promise.all([service(doc30), service(doc31), service(undefined)]);
    // The real catalog fetches the documents through each service's pool, as in production.
    docs = openapi();
    gw = await startGateway(
      {
        logging: LOG,
        server: { limits: { bufferBody: '4kb' } },
        services: {
          s30: { targets: [s30.url], health: false, openapi: '/openapi.json' },
          s31: { targets: [s31.url], health: false, openapi: '/openapi.json' },
          none: { targets: [none.url], health: false, openapi: '/openapi.json' },
        },
        routes: [
          { prefix: '/v1', service: 's30', stripPrefix: false, validate: { responses: 'report' } },
          { prefix: '/pay31', service: 's31', validate: true },
          { prefix: '/open', service: 'none', validate: true },
          { prefix: '/closed', service: 'none', validate: { onMissing: 'closed' } },
          { prefix: '/plain', service: 's30' },
        ],
      },
      [docs, requestValidation(() => docs.catalog)],
    );
    // The first fetch runs as the gateway starts; wait for a round of it.
    await docs.document({ refresh: true });
  });
  afterAll(async () => {
    await gw?.close();
    await Promise.all(all().map((u) => u?.close()));
  });

  const reached = (u: Upstream, path: string) => u.seen.filter((r) => r.url.startsWith(path)).length;

  it('refuses with application/problem+json listing each problem by location, and the upstream never hears of it', async () => {
    const res = await send(`${gw.url}/v1/payments?limit=1000&ids=1,x`, { headers: { 'x-tenant': 'nope' } });
    expect(res.status).toBe(400);
    expect(res.headers['content-type']).toBe('application/problem+json');
    const body = res.json<Record<string, unknown>>();
    expect(body).toMatchObject({
      status: 400,
      code: 'GW_REQUEST_INVALID',
      title: "Request does not match the service's API",
      operation: 'GET /payments',
    });
    expect(body.requestId).toBe(res.headers['x-request-id']);
    expect(new Set(body.problems as unknown[])).toEqual(
      new Set([
        { location: 'query.limit', message: 'should be at most 100' },
        { location: 'query.ids.1', message: 'should be an integer' },
        { location: 'header.x-tenant', message: 'should be a valid uuid' },
      ]),
    );
    expect(reached(s30, '/v1/payments?limit=1000')).toBe(0);
  });

  it('checks path, query styles, headers and cookies, and lets a matching request through', async () => {
    const ok = await send(
      `${gw.url}/v1/payments?limit=5&status=open&status=paid&tags=a%20b&codes=EUR|USD&range[from]=1`,
      {
        headers: { 'x-tenant': TENANT, cookie: 'session=abcdefghijk' },
      },
    );
    expect(ok.status).toBe(200);
    expect((await send(`${gw.url}/v1/payments/0`)).json()).toMatchObject({
      problems: [{ location: 'path.id', message: 'should be at least 1' }],
    });
    const deep = await send(`${gw.url}/v1/payments?range[from]=x`, { headers: { 'x-tenant': TENANT } });
    expect(deep.json()).toMatchObject({
      problems: [{ location: 'query.range.from', message: 'should be an integer' }],
    });
    const cookie = await send(`${gw.url}/v1/payments`, {
      headers: { 'x-tenant': TENANT, cookie: 'session=x' },
    });
    expect(cookie.json()).toMatchObject({
      problems: [{ location: 'cookie.session', message: 'should be at least 8 characters long' }],
    });
    expect((await send(`${gw.url}/v1/payments/7`)).status).toBe(200);
  });

  it('checks a JSON body (3.0: $ref, allOf, oneOf, anyOf, nullable, formats) and forwards it byte for byte', async () => {
    const body =
      '{"amount":100,  "currency":"EUR","payer":"ada@example.com","method":{"card":"4111111111111111"},"note":null,"tags":["a",2]}';
    const res = await send(`${gw.url}/v1/payments`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body,
    });
    expect(res.status).toBe(200);
    expect(res.json()).toMatchObject({
      url: '/v1/payments',
      sha256: sha(body),
      bytes: Buffer.byteLength(body),
    });
    const bad = await send(`${gw.url}/v1/payments`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        amount: 0,
        currency: 'EUR',
        payer: 'x',
        method: { iban: 'short' },
        tags: [true],
      }),
    });
    expect(bad.status).toBe(400);
    expect(new Set(bad.json<{ problems: unknown[] }>().problems)).toEqual(
      new Set([
        { location: '/body/amount', message: 'should be at least 1' },
        { location: '/body/payer', message: 'should be a valid email' },
        {
          location: '/body/method',
          message: 'should match exactly one of the allowed shapes (it matches none)',
        },
        { location: '/body/tags/0', message: 'should match at least one of the allowed shapes' },
      ]),
    );
  });

  it('checks a 3.1 body (type arrays, const, unevaluatedProperties) behind a stripped prefix', async () => {
    const good = await send(`${gw.url}/pay31/payments`, {
      method: 'POST',
      headers: { 'content-type': 'application/json; charset=utf-8' },
      body: JSON.stringify({ amount: 5, currency: 'EUR', kind: 'transfer', note: null }),
    });
    expect(good.status).toBe(200);
    const bad = await send(`${gw.url}/pay31/payments`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ amount: 5, currency: 'EUR', kind: 'other', extra: true }),
    });
    expect(new Set(bad.json<{ problems: unknown[] }>().problems)).toEqual(
      new Set([
        { location: '/body/kind', message: 'should be "transfer"' },
        { location: '/body/extra', message: 'is not allowed here' },
      ]),
    );
    expect((await send(`${gw.url}/pay31/payments/0`)).json()).toMatchObject({
      problems: [{ location: 'path.id', message: 'should be more than 0' }],
    });
  });

  it('answers 415 for an undeclared media type, 404 and 405 where the document has no such operation', async () => {
    const xml = await send(`${gw.url}/v1/payments`, {
      method: 'POST',
      headers: { 'content-type': 'application/xml' },
      body: '<p/>',
    });
    expect(xml.status).toBe(415);
    expect(xml.json()).toMatchObject({
      code: 'GW_UNSUPPORTED_MEDIA_TYPE',
      problems: [{ location: 'header.content-type' }],
    });
    const missing = await send(`${gw.url}/v1/refunds`);
    expect(missing.status).toBe(404);
    const wrong = await send(`${gw.url}/v1/payments/7`, { method: 'PATCH' });
    expect(wrong.status).toBe(405);
    expect(wrong.headers.allow).toBe('GET, DELETE');
    expect(reached(s30, '/v1/refunds') + reached(s30, '/v1/payments/7')).toBe(1); // the earlier GET only
    // A route without validate forwards what the document would refuse.
    expect((await send(`${gw.url}/plain/anything`)).status).toBe(200);
  });

  it('refuses a JSON body larger than limits.bufferBody (413) rather than forwarding it unchecked', async () => {
    const big = JSON.stringify({
      amount: 1,
      currency: 'EUR',
      payer: 'a@b.co',
      method: { iban: 'x'.repeat(20) },
      note: 'n'.repeat(5000),
    });
    const res = await send(`${gw.url}/v1/payments`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: big,
    });
    expect(res.status).toBe(413);
    expect(reached(s30, '/v1/payments') - reached(s30, '/v1/payments?') - reached(s30, '/v1/payments/')).toBe(
      1,
    );
  });

  it('takes a refreshed document at once: a changed schema changes the answer, with no restart', async () => {
    const send31 = () =>
      send(`${gw.url}/pay31/payments`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ amount: 5, currency: 'EUR', kind: 'transfer' }),
      });
    expect((await send31()).status).toBe(200);
    const stricter = structuredClone(doc31);
    (stricter.components.schemas.NewPayment.required as string[]).push('reference');
    s31.publish(stricter);
    await docs.document({ refresh: true });
    const refused = await send31();
    expect(refused.status).toBe(400);
    expect(refused.json()).toMatchObject({
      problems: [{ location: '/body/reference', message: 'is required' }],
    });
    s31.publish(doc31);
    await docs.document({ refresh: true });
    expect((await send31()).status).toBe(200);
  });

  it('follows onMissing: open lets requests through unchecked, closed refuses them; /health says which', async () => {
    expect((await send(`${gw.url}/open/anything?x=1`)).status).toBe(200);
    const closed = await send(`${gw.url}/closed/anything`);
    expect(closed.status).toBe(503);
    expect(closed.json()).toMatchObject({ code: 'GW_API_DOCUMENT_UNAVAILABLE' });
    expect(reached(none, '/anything')).toBe(1);
    const health = await gw.gateway.health();
    expect(health.components?.validation).toMatchObject({
      healthy: false,
      detail: {
        '/open': { service: 'none', checked: false, onMissing: 'open' },
        '/closed': { service: 'none', checked: false, onMissing: 'closed' },
        '/v1': { service: 's30', checked: true },
      },
    });
    // Once the document arrives, both routes check.
    none.publish(doc31);
    await docs.document({ refresh: true });
    expect((await send(`${gw.url}/closed/anything`)).status).toBe(404);
    expect((await send(`${gw.url}/open/payments/0`)).status).toBe(400);
    none.publish(undefined);
    await docs.document({ refresh: true });
    // A failed refresh keeps the last good document, as the catalog does.
    expect((await send(`${gw.url}/closed/payments/0`)).status).toBe(400);
  });

  it('reports answers that do not match the document, unchanged, counted, and logged once per operation per minute', async () => {
    const get = () => send(`${gw.url}/v1/payments?limit=1`, { headers: { 'x-tenant': TENANT } });
    s30.answer.body = '[{"id":1,"amount":5}]';
    expect((await get()).text).toBe('[{"id":1,"amount":5}]');
    s30.answer.body = '[{"id":"one"}]';
    const wrong = await get();
    expect(wrong.status).toBe(200);
    expect(wrong.text).toBe('[{"id":"one"}]');
    await get();
    const metrics = await gw.gateway.registry.metrics();
    expect(metrics).toContain(
      'lucid_gateway_openapi_response_mismatches_total{route="/v1",operation="GET /payments"} 2',
    );
    const lines = gw.logs.filter(
      (l) =>
        l.msg === "upstream answer does not match the service's OpenAPI document" &&
        l.operation === 'GET /payments',
    );
    expect(lines).toHaveLength(1);
    expect(new Set(lines[0]!.problems as unknown[])).toEqual(
      new Set([
        { location: '/body/0/id', message: 'should be an integer' },
        { location: '/body/0/amount', message: 'is required' },
      ]),
    );
    // The echo's 200 to POST /payments (the document declares 201 and 4XX) was counted too.
    expect(metrics).toContain(
      'lucid_gateway_openapi_response_mismatches_total{route="/v1",operation="POST /payments"}',
    );
    expect(lines[0]).toMatchObject({ route: '/v1', operation: 'GET /payments', status: 200 });
    s30.answer.body = '[]';
  });

  it('keeps a hostile body from the upstream: deep nesting, __proto__ keys, integers beyond 2^53, a huge array', async () => {
    const post = (body: string) =>
      send(`${gw.url}/pay31/payments`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body,
      });
    const before = reached(s31, '/payments');
    const deep = await post(`${'['.repeat(2000)}${']'.repeat(2000)}`);
    expect(deep.json()).toMatchObject({
      status: 400,
      problems: [{ location: '/body', message: 'is nested deeper than 64 levels' }],
    });
    const proto = await post('{"amount":5,"currency":"EUR","kind":"transfer","__proto__":{"isAdmin":true}}');
    expect(proto.json()).toMatchObject({
      problems: [{ location: '/body/__proto__', message: 'is a key no request may use' }],
    });
    const big = await post('{"amount":9007199254740993,"currency":"EUR","kind":"transfer"}');
    expect(big.json()).toMatchObject({
      problems: [{ location: '/body', message: expect.stringContaining('2^53') }],
    });
    const many = await post(
      JSON.stringify({
        amount: 5,
        currency: 'EUR',
        kind: 'transfer',
        lines: ['h', ...Array(800).fill('x')],
      }),
    );
    const problems = many.json<{ problems: unknown[] }>().problems;
    expect(problems).toHaveLength(20);
    expect(problems[0]).toEqual({ location: '/body/lines/1', message: 'should be an integer' });
    expect(reached(s31, '/payments')).toBe(before);
  });

  it('shows on the dashboard what each validated route does, and when it cannot', () => {
    const plugin = requestValidation(() => docs.catalog);
    plugin.setup?.({
      config: gw.gateway.config,
      logger: gw.gateway.logger,
      registry: gw.gateway.registry,
      metricPrefix: 'x_',
    });
    const route = (prefix: string) => {
      const config = gw.gateway.config.routes.find((r) => r.prefix === prefix)!;
      return {
        kind: 'proxy',
        id: prefix,
        config,
        serviceName: config.service,
        service: gw.gateway.config.services[config.service]!,
      } as never;
    };
    expect(plugin.dashboardRoute?.(route('/v1'))).toEqual({
      validate: { label: 'validate', value: 'requests, answers reported' },
    });
    expect(plugin.dashboardRoute?.(route('/plain'))).toEqual({});
  });
});
