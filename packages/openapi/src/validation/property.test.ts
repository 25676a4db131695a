import { Ajv2020 } from 'ajv/dist/2020.js';
import addFormatsModule from 'ajv-formats';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { doc30, doc31 } from './fixtures.js';
import { OpenApiValidator, type Verdict } from './index.js';

const addFormats = addFormatsModule as unknown as (ajv: Ajv2020) => Ajv2020;

// The oracle: a separately configured ajv (native RegExp, first error only, no OpenAPI reading),
// given plain JSON Schema 2020-12 written by hand for what each document's body schema says.
const oracle = new Ajv2020({ strict: false });
addFormats(oracle);

const money = {
  type: 'object',
  required: ['amount', 'currency'],
  properties: {
    amount: { type: 'integer', minimum: 1, maximum: 1_000_000 },
    currency: { enum: ['EUR', 'USD'] },
  },
};
const newPayment30 = oracle.compile({
  allOf: [
    money,
    {
      type: 'object',
      required: ['payer', 'method'],
      properties: {
        payer: { type: 'string', format: 'email' },
        note: { type: ['string', 'null'], maxLength: 20 },
        method: {
          oneOf: [
            {
              type: 'object',
              required: ['card'],
              properties: { card: { type: 'string', pattern: '^[0-9]{16}$' } },
              additionalProperties: false,
            },
            {
              type: 'object',
              required: ['iban'],
              properties: { iban: { type: 'string', minLength: 15 } },
              additionalProperties: false,
            },
          ],
        },
        tags: { type: 'array', maxItems: 3, items: { anyOf: [{ type: 'string' }, { type: 'integer' }] } },
        fee: { type: 'number', exclusiveMinimum: 0 },
        due: { type: 'string', format: 'date' },
      },
    },
  ],
});
const newPayment31 = oracle.compile({
  type: 'object',
  required: ['amount', 'currency', 'kind'],
  properties: {
    amount: { type: 'integer', minimum: 1 },
    currency: { type: 'string', pattern: '^[A-Z]{3}$' },
    note: { type: ['string', 'null'], maxLength: 20 },
    kind: { const: 'transfer' },
    reference: { type: 'string', format: 'uuid' },
    lines: { type: 'array', prefixItems: [{ type: 'string' }], items: { type: 'integer' } },
  },
  unevaluatedProperties: false,
});

// Bodies near the schema's edges, and anything at all.
const maybe = <T>(arb: fc.Arbitrary<T>) => fc.option(arb, { nil: undefined });
const scalar = fc.oneof(
  fc.integer({ min: -3, max: 1_000_003 }),
  fc.double(),
  fc.string({ maxLength: 25 }),
  fc.boolean(),
  fc.constant(null),
);
const nearPayment = fc
  .record({
    amount: maybe(fc.oneof(fc.integer({ min: -3, max: 1_000_003 }), scalar)),
    currency: maybe(fc.oneof(fc.constantFrom('EUR', 'USD', 'GBP', 'eur'), scalar)),
    payer: maybe(fc.oneof(fc.emailAddress(), fc.string())),
    note: maybe(fc.oneof(fc.string({ maxLength: 25 }), fc.constant(null), scalar)),
    method: maybe(
      fc.oneof(
        fc.record({ card: fc.stringMatching(/^[0-9]{15,17}$/) }),
        fc.record({ iban: fc.string({ minLength: 10, maxLength: 20 }) }),
        fc.record({ card: fc.stringMatching(/^[0-9]{16}$/), iban: fc.string({ minLength: 15 }) }),
        scalar,
      ),
    ),
    tags: maybe(fc.array(fc.oneof(fc.string(), fc.integer(), fc.boolean(), fc.double()), { maxLength: 4 })),
    fee: maybe(fc.oneof(fc.double({ min: -1, max: 1 }), fc.constant(0), scalar)),
    due: maybe(
      fc.oneof(
        fc.date({ noInvalidDate: true }).map((d) => d.toISOString().slice(0, 10)),
        fc.string(),
      ),
    ),
    kind: maybe(fc.oneof(fc.constant('transfer'), scalar)),
    reference: maybe(fc.oneof(fc.uuid(), fc.string())),
    lines: maybe(fc.array(fc.oneof(fc.string(), fc.integer()), { maxLength: 4 })),
    extra: maybe(scalar),
  })
  .map((r) => Object.fromEntries(Object.entries(r).filter(([, v]) => v !== undefined)));
// Bodies each document accepts, so both answers are exercised.
const valid30 = fc.record(
  {
    amount: fc.integer({ min: 1, max: 1_000_000 }),
    currency: fc.constantFrom('EUR', 'USD'),
    payer: fc.constantFrom('ada@example.com', 'b.c@d.example'),
    method: fc.oneof(
      fc.record({ card: fc.stringMatching(/^[0-9]{16}$/) }),
      fc.record({ iban: fc.string({ minLength: 15, maxLength: 30 }) }),
    ),
    note: fc.oneof(fc.string({ maxLength: 20 }), fc.constant(null)),
    tags: fc.array(fc.oneof(fc.string(), fc.integer()), { maxLength: 3 }),
    fee: fc.double({ min: 0.001, max: 10, noNaN: true }),
  },
  { requiredKeys: ['amount', 'currency', 'payer', 'method'] },
);
const valid31 = fc.record(
  {
    amount: fc.integer({ min: 1 }),
    currency: fc.stringMatching(/^[A-Z]{3}$/),
    kind: fc.constant('transfer'),
    note: fc.oneof(fc.string({ maxLength: 20 }), fc.constant(null)),
    reference: fc.uuid(),
    lines: fc.tuple(fc.string(), fc.array(fc.integer(), { maxLength: 3 })).map(([h, t]) => [h, ...t]),
  },
  { requiredKeys: ['amount', 'currency', 'kind'] },
);
// A valid body with one field swapped for something near it, or gone.
const mutated = (valid: fc.Arbitrary<Record<string, unknown>>) =>
  fc.tuple(valid, nearPayment).map(([good, near]) => {
    const keys = Object.keys(near);
    const out: Record<string, unknown> = { ...good };
    if (keys.length === 0) delete out[Object.keys(good)[0]!];
    else out[keys[0]!] = near[keys[0]!];
    return out;
  });
const bodiesFor = (valid: fc.Arbitrary<Record<string, unknown>>) =>
  fc.oneof(
    { arbitrary: valid, weight: 2 },
    { arbitrary: mutated(valid), weight: 4 },
    { arbitrary: nearPayment, weight: 1 },
    { arbitrary: fc.jsonValue(), weight: 1 },
  );

function send(v: OpenApiValidator, path: string, text: string): Verdict {
  const found = v.find('POST', path);
  if (found.kind !== 'operation') throw new Error(found.kind);
  return found.operation.check(
    { path, query: '', headers: { 'content-type': 'application/json' }, body: Buffer.from(text) },
    found.params,
  );
}

describe('what the validator accepts, the schema accepts', () => {
  for (const [name, doc, path, schema, bodies] of [
    ['3.0', doc30, '/v1/payments', newPayment30, bodiesFor(valid30)],
    ['3.1', doc31, '/payments', newPayment31, bodiesFor(valid31)],
  ] as const) {
    it(`for generated bodies against a ${name} document`, () => {
      const v = OpenApiValidator.compile(doc);
      let accepted = 0;
      let refused = 0;
      fc.assert(
        fc.property(bodies, (body) => {
          const text = JSON.stringify(body);
          const verdict = send(v, path, text);
          if (verdict.ok) {
            accepted++;
            expect(schema(JSON.parse(text)), `${text} accepted`).toBe(true);
          } else refused++;
          // Refusals carry problems with locations under the body.
          if (!verdict.ok) expect(verdict.problems.every((p) => p.location.startsWith('/body'))).toBe(true);
        }),
        { numRuns: 1000 },
      );
      // Both ways were exercised: the generator reaches valid bodies, not only broken ones.
      expect(accepted).toBeGreaterThan(20);
      expect(refused).toBeGreaterThan(20);
    });
  }

  it('for generated query values of an integer parameter', () => {
    const v = OpenApiValidator.compile(doc30);
    const found = v.find('GET', '/v1/payments');
    if (found.kind !== 'operation') throw new Error(found.kind);
    const op = found.operation;
    const headers = { 'x-tenant': '1b4e28ba-2fa1-11d2-883f-0016d3cca427' };
    fc.assert(
      fc.property(
        fc.oneof(fc.integer({ min: -5, max: 105 }).map(String), fc.string({ maxLength: 8 })),
        (text) => {
          const verdict = op.check(
            { path: '/v1/payments', query: `limit=${encodeURIComponent(text)}`, headers, body: undefined },
            found.params,
          );
          if (verdict.ok) {
            // The text is a plain JSON number, whole, in range.
            expect(text).toMatch(/^-?(0|[1-9]\d*)(\.\d+)?([eE][+-]?\d+)?$/);
            const n = Number(text);
            expect(Number.isInteger(n) && n >= 1 && n <= 100).toBe(true);
          }
        },
      ),
      { numRuns: 500 },
    );
  });
});
