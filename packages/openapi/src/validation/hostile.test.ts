import { describe, expect, it } from 'vitest';
import { MAX_PROBLEMS, OpenApiValidator, type Verdict } from './index.js';

// What an attacker can send, and what a careless (or hostile) document can hold: each must end quickly,
// with an answer, and leave the process as it was.
const doc = {
  openapi: '3.1.0',
  paths: {
    '/things': {
      post: {
        parameters: [
          {
            name: 'f',
            in: 'query',
            style: 'deepObject',
            schema: { type: 'object', properties: { a: { type: 'string' } }, additionalProperties: false },
          },
        ],
        requestBody: { content: { 'application/json': { schema: { $ref: '#/components/schemas/Thing' } } } },
        responses: {},
      },
    },
    '/tree': {
      post: {
        requestBody: { content: { 'application/json': { schema: { $ref: '#/components/schemas/Node' } } } },
        responses: {},
      },
    },
  },
  components: {
    schemas: {
      Thing: {
        type: 'object',
        required: ['constructor'],
        properties: {
          constructor: { type: 'string' },
          name: { type: 'string', pattern: '^(a+)+$' },
          items: { type: 'array', items: { type: 'integer' } },
          unique: { type: 'array', uniqueItems: true, maxItems: 1000 },
          set: { type: 'array', uniqueItems: true },
          count: { type: 'integer', maximum: 9007199254740991 },
          ratio: { type: 'number' },
        },
        additionalProperties: false,
      },
      Node: { type: 'object', properties: { child: { $ref: '#/components/schemas/Node' } } },
    },
  },
};

const v = OpenApiValidator.compile(doc);

function post(path: string, body: string, query = ''): Verdict {
  const found = v.find('POST', path);
  if (found.kind !== 'operation') throw new Error(found.kind);
  return found.operation.check(
    { path, query, headers: { 'content-type': 'application/json' }, body: Buffer.from(body) },
    found.params,
  );
}
const problems = (verdict: Verdict) => (verdict.ok ? [] : verdict.problems);

describe('hostile requests', () => {
  it('refuses JSON nested deeper than the limit before parsing it, even where the schema recurses', () => {
    const deep = `${'{"child":'.repeat(100_000)}{}${'}'.repeat(100_000)}`;
    expect(problems(post('/tree', deep))).toEqual([
      { location: '/body', message: 'is nested deeper than 64 levels' },
    ]);
    const arrays = `${'['.repeat(200_000)}${']'.repeat(200_000)}`;
    expect(problems(post('/tree', arrays))).toEqual([
      { location: '/body', message: 'is nested deeper than 64 levels' },
    ]);
    // Brackets inside strings are text, not nesting.
    expect(post('/tree', JSON.stringify({ child: { child: {} }, note: '['.repeat(1000) })).ok).toBe(true);
    expect(post('/tree', `${'{"child":'.repeat(60)}{}${'}'.repeat(60)}`).ok).toBe(true);
  });

  it('lists a capped number of problems for a huge array of wrong items', () => {
    const body = JSON.stringify({ constructor: 'x', items: Array.from({ length: 200_000 }, () => 'no') });
    const verdict = post('/things', body);
    expect(verdict.ok).toBe(false);
    expect(problems(verdict)).toHaveLength(MAX_PROBLEMS);
    expect(problems(verdict)[0]).toEqual({ location: '/body/items/0', message: 'should be an integer' });
  });

  it('checks uniqueItems in linear time, with JSON equality', () => {
    // Pairwise (as ajv's own keyword does), 20,000 objects are 2e8 deep comparisons: seconds.
    const many = Array.from({ length: 20_000 }, (_, i) => ({ i, tag: 'same' }));
    expect(problems(post('/things', JSON.stringify({ constructor: 'x', set: many })))).toEqual([]);
    expect(
      problems(post('/things', JSON.stringify({ constructor: 'x', set: [...many, { tag: 'same', i: 7 }] }))),
    ).toEqual([{ location: '/body/set', message: 'should have no duplicate items' }]);
    expect(
      problems(post('/things', '{"constructor":"x","set":[1,"1",[1],{"a":[1,{"b":2}]},{"a":[1,{"b":3}]}]}')),
    ).toEqual([]);
    expect(problems(post('/things', '{"constructor":"x","set":[{"a":1,"b":2},{"b":2,"a":1}]}'))).toEqual([
      { location: '/body/set', message: 'should have no duplicate items' },
    ]);
    const capped = JSON.stringify({
      constructor: 'x',
      unique: Array.from({ length: 5000 }, (_, i) => ({ i })),
    });
    expect(problems(post('/things', capped))).toEqual([
      { location: '/body/unique', message: 'should have at most 1000 items' },
    ]);
  });

  it('treats __proto__ and constructor as plain keys: no pollution, and inherited ones never satisfy required', () => {
    expect(problems(post('/things', '{}'))).toEqual([
      { location: '/body/constructor', message: 'is required' },
    ]);
    const polluting = '{"constructor":"x","__proto__":{"polluted":true}}';
    expect(problems(post('/things', polluting))).toEqual([
      { location: '/body/__proto__', message: 'is a key no request may use' },
    ]);
    expect(problems(post('/tree', '{"child":{"child":[{"__proto__":{}}]}}'))).toEqual([
      { location: '/body/child/child/0/__proto__', message: 'is a key no request may use' },
    ]);
    // As text in a value it is only text.
    expect(post('/things', '{"constructor":"\\"__proto__\\""}').ok).toBe(true);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(problems(post('/things', '{"constructor":{"prototype":{}}}'))).toEqual([
      { location: '/body/constructor', message: 'should be a string' },
    ]);
    expect(problems(post('/things', '{"constructor":"x"}', 'f[__proto__]=1&f[constructor]=2'))).toEqual([
      { location: 'query.f.__proto__', message: 'is not allowed here' },
      { location: 'query.f.constructor', message: 'is not allowed here' },
    ]);
    expect(({} as Record<string, unknown>)['1']).toBeUndefined();
  });

  it('refuses integers beyond 2^53 rather than checking their rounded value', () => {
    expect(post('/things', '{"constructor":"x","count":9007199254740991}').ok).toBe(true);
    expect(problems(post('/things', '{"constructor":"x","count":9007199254740993}'))).toEqual([
      {
        location: '/body',
        message: 'has the number 9007199254740993, beyond what can be checked exactly (2^53)',
      },
    ]);
    expect(
      problems(post('/things', '{"constructor":"x","count":-123456789012345678901234567890}'))[0]?.location,
    ).toBe('/body');
    // Long fractions round as any client's would: they are not integers the schema could bound exactly.
    expect(post('/things', '{"constructor":"x","ratio":0.1234567890123456789}').ok).toBe(true);
    // Long digit runs inside strings are text.
    expect(post('/things', '{"constructor":"12345678901234567890"}').ok).toBe(true);
    // Written short, beyond 2^53 all the same (1e400 parses as Infinity).
    for (const n of ['1e400', '9007199254740993e0', '-2E60']) {
      expect(problems(post('/things', `{"constructor":"x","count":${n}}`))).toEqual([
        { location: '/body', message: `has the number ${n}, beyond what can be checked exactly (2^53)` },
      ]);
    }
    expect(post('/things', '{"constructor":"x","count":1e3,"ratio":2.5E-3}').ok).toBe(true);
  });

  it('runs a backtracking-prone pattern in linear time', () => {
    // With a backtracking engine this input takes longer than the universe has left.
    const name = `${'a'.repeat(50_000)}!`;
    expect(problems(post('/things', JSON.stringify({ constructor: 'x', name })))).toEqual([
      { location: '/body/name', message: 'should match the pattern "^(a+)+$"' },
    ]);
    expect(post('/things', JSON.stringify({ constructor: 'x', name: 'a'.repeat(50_000) })).ok).toBe(true);
  });
});

describe('hostile documents', () => {
  it('refuses at load the patterns a linear engine cannot run, and keeps checking the rest', () => {
    const w = OpenApiValidator.compile({
      openapi: '3.0.3',
      paths: {
        '/a': {
          post: {
            requestBody: {
              content: { 'application/json': { schema: { type: 'string', pattern: '^(\\w+)\\1$' } } },
            },
            responses: {},
          },
        },
        '/b': {
          post: {
            requestBody: {
              content: {
                'application/json': {
                  schema: { type: 'object', patternProperties: { '^(?!x)': { type: 'string' } } },
                },
              },
            },
            responses: {},
          },
        },
        '/c': { get: { responses: {} } },
      },
    });
    expect(w.unchecked.map((u) => u.id)).toEqual(['POST /a', 'POST /b']);
    expect(w.unchecked[0]!.reason).toMatch(/escape|regexp/i);
    expect(w.operations).toBe(1);
  });

  it('keeps a document’s __proto__ keys as keys and refuses $refs that leave the document or loop', () => {
    const text = JSON.stringify({
      openapi: '3.1.0',
      paths: {
        '/p': {
          post: {
            requestBody: {
              content: {
                'application/json': {
                  schema: {
                    type: 'object',
                    required: ['__proto__'],
                    properties: { ['__proto__']: { type: 'integer' } },
                  },
                },
              },
            },
            responses: {},
          },
        },
        '/ext': { post: { requestBody: { $ref: 'https://evil.example/body.json' }, responses: {} } },
        '/loop': { post: { requestBody: { $ref: '#/components/requestBodies/a' }, responses: {} } },
      },
      components: {
        requestBodies: {
          a: { $ref: '#/components/requestBodies/b' },
          b: { $ref: '#/components/requestBodies/a' },
        },
      },
    }).replace('"properties":{}', '"properties":{"__proto__":{"type":"integer"}}');
    const w = OpenApiValidator.compile(JSON.parse(text));
    expect(({} as Record<string, unknown>).type).toBeUndefined();
    const found = w.find('POST', '/p');
    if (found.kind !== 'operation') throw new Error(found.kind);
    const send = (body: string) =>
      found.operation.check(
        { path: '/p', query: '', headers: { 'content-type': 'application/json' }, body: Buffer.from(body) },
        found.params,
      );
    // ajv skips a `__proto__` property schema; the key itself is refused in every request body.
    expect(send('{"__proto__":1}').ok).toBe(false);
    expect(send('{}').ok).toBe(false);
    expect(Object.fromEntries(w.unchecked.map((u) => [u.id, u.reason]))).toEqual({
      'POST /ext': expect.stringContaining('is not inside the document'),
      'POST /loop': expect.stringContaining('refers to itself'),
    });
  });

  it('refuses a document nested without end', () => {
    let schema: Record<string, unknown> = { type: 'string' };
    for (let i = 0; i < 1000; i++) schema = { items: schema };
    expect(() =>
      OpenApiValidator.compile({ openapi: '3.1.0', paths: {}, components: { schemas: { s: schema } } }),
    ).toThrow('nested deeper');
  });
});

describe('which patterns run on the backtracking engine', () => {
  it('only those that cannot backtrack for long', async () => {
    const { boundedBacktracking } = await import('./regexp.js');
    for (const p of ['^[A-Z]{3}-[0-9]{4}$', '^\\d+$', '^[0-9]{16}$', 'abc', '^[a-z]{1,30}$', '^[\\w.+-]+$']) {
      expect(boundedBacktracking(p), p).toBe(true);
    }
    for (const p of [
      '^(a+)+$',
      '(a|a)*',
      '\\d+\\d+',
      'a+b',
      '^a+|b+$',
      '^a*b*$',
      '^(?=a)',
      '(\\w)\\1',
      '^(ab)*$',
      '^x{2,}y+$',
      '^[)]+(a)+$',
    ]) {
      expect(boundedBacktracking(p), p).toBe(false);
    }
  });
});
