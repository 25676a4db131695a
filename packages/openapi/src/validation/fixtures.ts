/** Documents the validator's tests share: one 3.0, one 3.1, describing the same small payments API. */

const amount30 = { type: 'integer', minimum: 1, maximum: 1_000_000 };

export const doc30 = {
  openapi: '3.0.3',
  info: { title: 'payments', version: '1' },
  servers: [{ url: 'https://payments.example/v1' }],
  paths: {
    '/payments': {
      get: {
        parameters: [
          { $ref: '#/components/parameters/limit' },
          {
            name: 'status',
            in: 'query',
            schema: { type: 'array', items: { type: 'string', enum: ['open', 'paid'] } },
          },
          {
            name: 'ids',
            in: 'query',
            style: 'form',
            explode: false,
            schema: { type: 'array', items: { type: 'integer' } },
          },
          {
            name: 'tags',
            in: 'query',
            style: 'spaceDelimited',
            explode: false,
            schema: { type: 'array', items: { type: 'string' } },
          },
          {
            name: 'codes',
            in: 'query',
            style: 'pipeDelimited',
            explode: false,
            schema: { type: 'array', items: { type: 'string', pattern: '^[A-Z]{3}$' } },
          },
          {
            name: 'range',
            in: 'query',
            style: 'deepObject',
            explode: true,
            schema: {
              type: 'object',
              properties: { from: { type: 'integer' }, to: { type: 'integer' } },
              additionalProperties: false,
            },
          },
          { name: 'x-tenant', in: 'header', required: true, schema: { type: 'string', format: 'uuid' } },
          { name: 'session', in: 'cookie', schema: { type: 'string', minLength: 8 } },
        ],
        responses: {
          '200': {
            description: 'ok',
            content: {
              'application/json': {
                schema: { type: 'array', items: { $ref: '#/components/schemas/Payment' } },
              },
            },
          },
        },
      },
      post: {
        requestBody: { $ref: '#/components/requestBodies/NewPayment' },
        responses: {
          '201': {
            description: 'made',
            content: { 'application/json': { schema: { $ref: '#/components/schemas/Payment' } } },
          },
          '4XX': {
            description: 'refused',
            content: { 'application/problem+json': { schema: { type: 'object', required: ['title'] } } },
          },
        },
      },
    },
    '/payments/{id}': {
      parameters: [{ name: 'id', in: 'path', required: true, schema: { type: 'integer', minimum: 1 } }],
      get: { responses: { '200': { description: 'ok' } } },
      delete: { responses: { '204': { description: 'gone' } } },
    },
    '/payments/latest': {
      get: { responses: { '200': { description: 'ok' } } },
    },
    '/files/{name}.json': {
      get: {
        parameters: [{ name: 'name', in: 'path', required: true, schema: { type: 'string', maxLength: 5 } }],
        responses: { '200': { description: 'ok' } },
      },
    },
    '/uploads': {
      put: {
        requestBody: { required: true, content: { 'application/octet-stream': {}, 'text/*': {} } },
        responses: { '204': { description: 'stored' } },
      },
    },
  },
  components: {
    parameters: {
      limit: { name: 'limit', in: 'query', schema: { type: 'integer', minimum: 1, maximum: 100 } },
    },
    requestBodies: {
      NewPayment: {
        required: true,
        content: { 'application/json': { schema: { $ref: '#/components/schemas/NewPayment' } } },
      },
    },
    schemas: {
      Money: {
        type: 'object',
        required: ['amount', 'currency'],
        properties: { amount: amount30, currency: { type: 'string', enum: ['EUR', 'USD'] } },
      },
      NewPayment: {
        allOf: [
          { $ref: '#/components/schemas/Money' },
          {
            type: 'object',
            required: ['payer', 'method'],
            properties: {
              payer: { type: 'string', format: 'email' },
              note: { type: 'string', nullable: true, maxLength: 20 },
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
              tags: {
                type: 'array',
                maxItems: 3,
                items: { anyOf: [{ type: 'string' }, { type: 'integer' }] },
              },
              fee: { type: 'number', minimum: 0, exclusiveMinimum: true },
              due: { type: 'string', format: 'date' },
            },
          },
        ],
      },
      Payment: {
        type: 'object',
        required: ['id', 'amount'],
        properties: { id: { type: 'integer' }, amount: amount30 },
      },
    },
  },
};

/** The same API in 3.1: JSON Schema 2020-12 (type arrays for null, numeric exclusive bounds, $defs, const). */
export const doc31 = {
  openapi: '3.1.0',
  info: { title: 'payments', version: '1' },
  paths: {
    '/payments': {
      post: {
        requestBody: {
          required: true,
          content: { 'application/json': { schema: { $ref: '#/components/schemas/NewPayment' } } },
        },
        responses: {
          '201': {
            description: 'made',
            content: { 'application/json': { schema: { $ref: '#/components/schemas/Payment' } } },
          },
        },
      },
    },
    '/payments/{id}': {
      get: {
        parameters: [
          { name: 'id', in: 'path', required: true, schema: { type: 'integer', exclusiveMinimum: 0 } },
        ],
        responses: {
          '200': {
            description: 'ok',
            content: { 'application/json': { schema: { $ref: '#/components/schemas/Payment' } } },
          },
        },
      },
    },
  },
  components: {
    schemas: {
      NewPayment: {
        type: 'object',
        required: ['amount', 'currency', 'kind'],
        properties: {
          amount: { type: 'integer', minimum: 1 },
          currency: { $ref: '#/components/schemas/Currency' },
          note: { type: ['string', 'null'], maxLength: 20 },
          kind: { const: 'transfer' },
          reference: { type: 'string', format: 'uuid' },
          lines: { type: 'array', prefixItems: [{ type: 'string' }], items: { type: 'integer' } },
        },
        unevaluatedProperties: false,
      },
      Currency: {
        $defs: { code: { type: 'string', pattern: '^[A-Z]{3}$' } },
        $ref: '#/components/schemas/Currency/$defs/code',
      },
      Payment: { type: 'object', required: ['id'], properties: { id: { type: 'integer' } } },
    },
  },
};
