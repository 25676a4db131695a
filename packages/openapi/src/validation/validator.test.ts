import { describe, expect, it } from 'vitest';
import { doc30, doc31 } from './fixtures.js';
import { OpenApiValidator, type RequestParts, ValidationDocumentError, type Verdict } from './index.js';

const TENANT = '1b4e28ba-2fa1-11d2-883f-0016d3cca427';

function check(v: OpenApiValidator, method: string, url: string, more: Partial<RequestParts> = {}): Verdict {
  const [path, query = ''] = url.split('?') as [string, string?];
  const found = v.find(method, path);
  if (found.kind !== 'operation') throw new Error(`${method} ${url}: ${found.kind}`);
  return found.operation.check({ path, query, headers: {}, body: undefined, ...more }, found.params);
}

const json = (value: unknown): Partial<RequestParts> => ({
  headers: { 'content-type': 'application/json' },
  body: Buffer.from(JSON.stringify(value)),
});

// Problems come in the schema's order; the tests compare them as sets.
const problems = (verdict: Verdict) =>
  verdict.ok ? [] : [...verdict.problems].sort((a, b) => a.location.localeCompare(b.location));

describe('OpenApiValidator on a 3.0 document', () => {
  const v = OpenApiValidator.compile(doc30);
  const get = (url: string, headers: Record<string, string> = {}) =>
    check(v, 'GET', url, { headers: { 'x-tenant': TENANT, ...headers } });
  const good = {
    amount: 100,
    currency: 'EUR',
    payer: 'ada@example.com',
    method: { card: '4111111111111111' },
  };

  it('reads the version and strips the servers path before matching', () => {
    expect(v.version).toBe('3.0');
    expect(v.basePaths).toEqual(['/v1']);
    expect(v.find('GET', '/v1/payments').kind).toBe('operation');
    expect(v.find('GET', '/v1x/payments').kind).toBe('not-found');
    expect(v.find('GET', '/payments').kind).toBe('not-found');
  });

  it('matches a concrete path before a templated one, and says which methods a path has', () => {
    const latest = v.find('GET', '/v1/payments/latest');
    expect(latest.kind === 'operation' && latest.operation.id).toBe('GET /payments/latest');
    const one = v.find('DELETE', '/v1/payments/7');
    expect(one.kind === 'operation' && one.operation.id).toBe('DELETE /payments/{id}');
    expect(v.find('PATCH', '/v1/payments/7')).toEqual({
      kind: 'method-not-allowed',
      allow: ['GET', 'DELETE'],
    });
    expect(v.find('HEAD', '/v1/payments/7').kind).toBe('operation');
  });

  it('checks path parameters, whole segments and inside one', () => {
    expect(check(v, 'GET', '/v1/payments/7').ok).toBe(true);
    expect(problems(check(v, 'GET', '/v1/payments/0'))).toEqual([
      { location: 'path.id', message: 'should be at least 1' },
    ]);
    expect(problems(check(v, 'GET', '/v1/payments/abc'))).toEqual([
      { location: 'path.id', message: 'should be an integer' },
    ]);
    expect(problems(check(v, 'GET', '/v1/payments/0x10'))).toEqual([
      { location: 'path.id', message: 'should be an integer' },
    ]);
    expect(check(v, 'GET', '/v1/files/a%20b.json').ok).toBe(true);
    expect(problems(check(v, 'GET', '/v1/files/toolong.json'))).toEqual([
      { location: 'path.name', message: 'should be at most 5 characters long' },
    ]);
    expect(problems(check(v, 'GET', '/v1/payments/%E0%A4%A'))).toEqual([
      { location: 'path.id', message: 'is not valid percent-encoding' },
    ]);
  });

  it('checks query parameters in each style', () => {
    expect(
      get(
        '/v1/payments?limit=10&status=open&status=paid&ids=1,2,3&tags=a%20b&codes=EUR|USD&range[from]=1&range[to]=2',
      ).ok,
    ).toBe(true);
    expect(problems(get('/v1/payments?limit=1000'))).toEqual([
      { location: 'query.limit', message: 'should be at most 100' },
    ]);
    expect(problems(get('/v1/payments?limit=ten'))).toEqual([
      { location: 'query.limit', message: 'should be an integer' },
    ]);
    expect(problems(get('/v1/payments?limit=1&limit=2'))).toEqual([
      { location: 'query.limit', message: 'should be given once' },
    ]);
    expect(problems(get('/v1/payments?status=open&status=late'))).toEqual([
      { location: 'query.status.1', message: 'should be one of "open", "paid"' },
    ]);
    expect(problems(get('/v1/payments?ids=1,x'))).toEqual([
      { location: 'query.ids.1', message: 'should be an integer' },
    ]);
    expect(problems(get('/v1/payments?codes=EUR|usd'))).toEqual([
      { location: 'query.codes.1', message: 'should match the pattern "^[A-Z]{3}$"' },
    ]);
    expect(problems(get('/v1/payments?range[from]=x&range[evil]=1'))).toEqual([
      { location: 'query.range.evil', message: 'is not allowed here' },
      { location: 'query.range.from', message: 'should be an integer' },
    ]);
    expect(problems(get('/v1/payments?limit=%ZZ'))).toEqual([
      { location: 'query', message: 'is not valid percent-encoding' },
    ]);
    // Parameters the document does not name pass: the document describes, it does not enumerate.
    expect(get('/v1/payments?other=1').ok).toBe(true);
  });

  it('checks headers (names in any case) and cookies', () => {
    expect(problems(check(v, 'GET', '/v1/payments'))).toEqual([
      { location: 'header.x-tenant', message: 'is required' },
    ]);
    expect(problems(get('/v1/payments', { 'x-tenant': 'nope' }))).toEqual([
      { location: 'header.x-tenant', message: 'should be a valid uuid' },
    ]);
    expect(get('/v1/payments', { cookie: 'a=1; session=abcdefghij' }).ok).toBe(true);
    expect(problems(get('/v1/payments', { cookie: 'session=short' }))).toEqual([
      { location: 'cookie.session', message: 'should be at least 8 characters long' },
    ]);
  });

  it('checks a JSON body through $ref, allOf, oneOf, anyOf, nullable and formats', () => {
    expect(check(v, 'POST', '/v1/payments', json(good)).ok).toBe(true);
    expect(
      check(v, 'POST', '/v1/payments', json({ ...good, note: null, tags: ['a', 2], due: '2026-12-07' })).ok,
    ).toBe(true);
    expect(problems(check(v, 'POST', '/v1/payments', json({ ...good, amount: 0, payer: 'nobody' })))).toEqual(
      [
        { location: '/body/amount', message: 'should be at least 1' },
        { location: '/body/payer', message: 'should be a valid email' },
      ],
    );
    expect(
      problems(
        check(v, 'POST', '/v1/payments', json({ currency: 'EUR', payer: 'a@b.co', method: { card: '1' } })),
      ),
    ).toEqual([
      { location: '/body/amount', message: 'is required' },
      {
        location: '/body/method',
        message: 'should match exactly one of the allowed shapes (it matches none)',
      },
    ]);
    expect(
      problems(
        check(v, 'POST', '/v1/payments', json({ ...good, method: { card: '4111111111111111', iban: 'x' } })),
      ),
    ).toEqual([
      {
        location: '/body/method',
        message: 'should match exactly one of the allowed shapes (it matches none)',
      },
    ]);
    expect(problems(check(v, 'POST', '/v1/payments', json({ ...good, tags: [true] })))).toEqual([
      { location: '/body/tags/0', message: 'should match at least one of the allowed shapes' },
    ]);
    expect(problems(check(v, 'POST', '/v1/payments', json({ ...good, fee: 0, due: '2026-13-40' })))).toEqual([
      { location: '/body/due', message: 'should be a valid date' },
      { location: '/body/fee', message: 'should be more than 0' },
    ]);
    expect(problems(check(v, 'POST', '/v1/payments', json({ ...good, currency: 'GBP', note: 5 })))).toEqual([
      { location: '/body/currency', message: 'should be one of "EUR", "USD"' },
      { location: '/body/note', message: 'should be a string or null' },
    ]);
  });

  it('checks the body is there, is JSON, and comes as a declared media type', () => {
    expect(problems(check(v, 'POST', '/v1/payments'))).toEqual([
      { location: '/body', message: 'is required' },
    ]);
    expect(
      problems(
        check(v, 'POST', '/v1/payments', {
          headers: { 'content-type': 'application/json' },
          body: Buffer.from('{"a":'),
        }),
      ),
    ).toEqual([{ location: '/body', message: 'is not valid JSON' }]);
    const xml = check(v, 'POST', '/v1/payments', {
      headers: { 'content-type': 'application/xml' },
      body: Buffer.from('<a/>'),
    });
    expect(xml).toEqual({
      ok: false,
      status: 415,
      problems: [{ location: 'header.content-type', message: 'should be one of "application/json"' }],
    });
    const bare = check(v, 'POST', '/v1/payments', { body: Buffer.from('{}') });
    expect(!bare.ok && bare.status).toBe(415);
    expect(
      check(v, 'POST', '/v1/payments', {
        ...json(good),
        headers: { 'content-type': 'Application/JSON; charset=utf-8' },
      }).ok,
    ).toBe(true);
    // Declared non-JSON types: the media type is checked, the bytes are the service's business.
    expect(
      check(v, 'PUT', '/v1/uploads', {
        headers: { 'content-type': 'application/octet-stream' },
        body: Buffer.from([0, 1]),
      }).ok,
    ).toBe(true);
    expect(
      check(v, 'PUT', '/v1/uploads', { headers: { 'content-type': 'text/csv' }, body: Buffer.from('a,b') })
        .ok,
    ).toBe(true);
    const img = check(v, 'PUT', '/v1/uploads', {
      headers: { 'content-type': 'image/png' },
      body: Buffer.from('x'),
    });
    expect(!img.ok && img.status).toBe(415);
  });

  it('checks answers against the declared responses when asked to', () => {
    const r = OpenApiValidator.compile(doc30, { responses: true });
    const found = r.find('POST', '/v1/payments');
    if (found.kind !== 'operation') throw new Error('no operation');
    const op = found.operation;
    expect(op.checkResponse(201, 'application/json', Buffer.from('{"id":1,"amount":5}'))).toEqual([]);
    expect(op.checkResponse(201, 'application/json', Buffer.from('{"id":"1"}'))).toEqual([
      { location: '/body/amount', message: 'is required' },
      { location: '/body/id', message: 'should be an integer' },
    ]);
    expect(op.checkResponse(422, 'application/problem+json', Buffer.from('{"title":"no"}'))).toEqual([]);
    expect(op.checkResponse(422, 'application/problem+json', Buffer.from('{}'))).toEqual([
      { location: '/body/title', message: 'is required' },
    ]);
    expect(op.checkResponse(500, 'application/json', Buffer.from('{}'))).toEqual([
      { location: 'status', message: '500 is not a declared answer' },
    ]);
    expect(op.checkResponse(201, 'text/html', Buffer.from('<p>'))).toEqual([
      { location: 'header.content-type', message: '"text/html" is not declared' },
    ]);
  });
});

describe('OpenApiValidator on a 3.1 document', () => {
  const v = OpenApiValidator.compile(doc31);
  const good = { amount: 5, currency: 'EUR', kind: 'transfer' };

  it('checks JSON Schema 2020-12: type arrays, const, $defs, prefixItems, unevaluatedProperties', () => {
    expect(v.version).toBe('3.1');
    expect(check(v, 'POST', '/payments', json({ ...good, note: null, lines: ['head', 1, 2] })).ok).toBe(true);
    expect(
      problems(check(v, 'POST', '/payments', json({ ...good, currency: 'eur', kind: 'x', extra: 1 }))),
    ).toEqual([
      { location: '/body/currency', message: 'should match the pattern "^[A-Z]{3}$"' },
      { location: '/body/extra', message: 'is not allowed here' },
      { location: '/body/kind', message: 'should be "transfer"' },
    ]);
    expect(
      problems(check(v, 'POST', '/payments', json({ ...good, lines: [1, 'x'], reference: 'r' }))),
    ).toEqual([
      { location: '/body/lines/0', message: 'should be a string' },
      { location: '/body/lines/1', message: 'should be an integer' },
      { location: '/body/reference', message: 'should be a valid uuid' },
    ]);
    expect(problems(check(v, 'GET', '/payments/0'))).toEqual([
      { location: 'path.id', message: 'should be more than 0' },
    ]);
  });
});

describe('OpenApiValidator refuses what it cannot check', () => {
  it('names a document that is not OpenAPI 3', () => {
    expect(() => OpenApiValidator.compile({ swagger: '2.0' })).toThrow(ValidationDocumentError);
    expect(() => OpenApiValidator.compile([])).toThrow('should be an object');
  });

  it('leaves an operation with a broken $ref or a pattern RE2 cannot run unchecked, with the reason', () => {
    const v = OpenApiValidator.compile({
      openapi: '3.0.0',
      paths: {
        '/a': { post: { requestBody: { $ref: '#/components/requestBodies/gone' }, responses: {} } },
        '/b': {
          get: {
            parameters: [{ name: 'q', in: 'query', schema: { type: 'string', pattern: '^(?=a)' } }],
            responses: {},
          },
        },
        '/c': { get: { responses: {} } },
      },
    });
    expect(v.unchecked.map((u) => u.id)).toEqual(['POST /a', 'GET /b']);
    expect(v.unchecked[0]!.reason).toContain('names nothing');
    expect(v.find('GET', '/b')).toMatchObject({ kind: 'unchecked', id: 'GET /b' });
    expect(v.find('GET', '/c').kind).toBe('operation');
    expect(v.operations).toBe(1);
  });
});
