import { describe, expect, it } from 'vitest';
import { parseOpenApi, upgradeTo31 } from './document.js';

describe('parseOpenApi', () => {
  it('reads JSON and YAML, OpenAPI 3.0 and 3.1', async () => {
    expect((await parseOpenApi('{"openapi":"3.0.2","info":{},"paths":{}}')).openapi).toBe('3.0.2');
    expect((await parseOpenApi('openapi: 3.1.1\ninfo: {}\npaths: {}\n')).openapi).toBe('3.1.1');
  });

  it('refuses what it cannot merge, saying what it found', async () => {
    await expect(parseOpenApi('{"swagger":"2.0"}')).rejects.toThrow(
      'unsupported document version (swagger 2.0)',
    );
    await expect(parseOpenApi('openapi: 3.1\n')).rejects.toThrow(
      'unsupported document version (openapi 3.1)',
    );
    await expect(parseOpenApi('openapi: 3.1.0\npaths: [1]\n')).rejects.toThrow('"paths" is not an object');
    await expect(parseOpenApi('just text')).rejects.toThrow('not an OpenAPI document');
    await expect(parseOpenApi('{"openapi": ')).rejects.toThrow('not valid JSON or YAML');
  });
});

describe('upgradeTo31', () => {
  it('turns nullable into a null type, in every schema position, and leaves data alone', () => {
    const doc = {
      openapi: '3.0.3',
      paths: {},
      components: {
        schemas: {
          A: { type: 'string', nullable: true, enum: ['a', 'b'], example: { nullable: true } },
          B: { $ref: '#/components/schemas/A', nullable: true },
          C: { type: 'object', properties: { n: { type: 'number', nullable: false } } },
          D: { allOf: [{ $ref: '#/components/schemas/A' }], nullable: true },
          E: { type: 'integer', minimum: 1, exclusiveMinimum: true, maximum: 9, exclusiveMaximum: false },
        },
      },
    };
    const up = upgradeTo31(doc);
    const s = (up.components as { schemas: Record<string, unknown> }).schemas;
    expect(up.openapi).toBe('3.1.0');
    expect(s.A).toEqual({ type: ['string', 'null'], enum: ['a', 'b', null], example: { nullable: true } });
    expect(s.B).toEqual({ anyOf: [{ $ref: '#/components/schemas/A' }, { type: 'null' }] });
    expect(s.C).toEqual({ type: 'object', properties: { n: { type: 'number' } } });
    expect(s.D).toEqual({ anyOf: [{ allOf: [{ $ref: '#/components/schemas/A' }] }, { type: 'null' }] });
    expect(s.E).toEqual({ type: 'integer', exclusiveMinimum: 1, maximum: 9 });
    // The input is untouched: the last good document stays as it was fetched.
    expect(doc.components.schemas.A.nullable).toBe(true);
  });

  it('copies a 3.1 document as it is', () => {
    const doc = { openapi: '3.1.0', paths: {}, components: { schemas: { A: { nullable: true } } } };
    expect(upgradeTo31(doc)).toEqual(doc);
  });
});
