// Small OpenAPI documents for the stand-in services, served at GET /openapi.json, so the gateway's
// /docs shows a working reference (paths as each service sees them; the gateway adds its prefixes).

const ok = (description, schema) => ({
  description,
  content: { 'application/json': { schema: schema ?? { type: 'object' } } },
});
const pathParam = (name, schema = { type: 'string' }) => ({ name, in: 'path', required: true, schema });

/** service name -> its document; auth's is OpenAPI 3.1, the others 3.0, as real services mix them. */
export const OPENAPI = {
  auth: {
    openapi: '3.1.0',
    info: { title: 'Lucid auth service', version: '1.0.0' },
    paths: {
      '/login': {
        post: {
          operationId: 'login',
          summary: 'Trade a username and password for a token (demo users: alice/alice, admin/admin)',
          requestBody: {
            required: true,
            content: {
              'application/json': {
                schema: { $ref: '#/components/schemas/Credentials' },
                example: { username: 'alice', password: 'alice' },
              },
            },
          },
          responses: {
            200: ok('a bearer token', { $ref: '#/components/schemas/Token' }),
            401: ok('wrong username or password', { $ref: '#/components/schemas/Error' }),
          },
        },
      },
    },
    components: {
      schemas: {
        Credentials: {
          type: 'object',
          required: ['username', 'password'],
          properties: { username: { type: 'string' }, password: { type: 'string' } },
        },
        Token: {
          type: 'object',
          properties: {
            access_token: { type: 'string' },
            token_type: { const: 'Bearer' },
            expires_in: { type: 'integer' },
            scope: { type: ['string', 'null'] },
          },
        },
        Error: { type: 'object', properties: { error: { type: 'string' } } },
      },
    },
  },
  blockchain: {
    openapi: '3.0.3',
    info: { title: 'Lucid blockchain engine', version: '1.0.0' },
    paths: {
      '/blocks/latest': { get: { operationId: 'latestBlock', responses: { 200: ok('the newest block') } } },
      '/blocks/{height}': {
        get: {
          operationId: 'getBlock',
          parameters: [pathParam('height', { type: 'integer', minimum: 0 })],
          responses: {
            200: ok('one block'),
            404: ok('no such block', { $ref: '#/components/schemas/Error' }),
          },
        },
      },
    },
    components: {
      schemas: {
        Error: { type: 'object', properties: { error: { type: 'string' }, height: { nullable: true } } },
      },
    },
  },
  sessions: {
    openapi: '3.0.3',
    info: { title: 'Lucid session API', version: '1.0.0' },
    paths: {
      '/': {
        get: {
          operationId: 'listSessions',
          summary: "The caller's sessions",
          responses: { 200: ok('sessions') },
        },
        post: {
          operationId: 'createSession',
          requestBody: {
            content: {
              'application/json': { schema: { type: 'object', properties: { name: { type: 'string' } } } },
            },
          },
          responses: { 201: ok('the new session') },
        },
      },
      '/{id}': {
        get: {
          operationId: 'getSession',
          parameters: [pathParam('id')],
          responses: { 200: ok('one session') },
        },
      },
    },
  },
  nodes: {
    openapi: '3.0.3',
    info: { title: 'Lucid node management', version: '1.0.0' },
    paths: {
      '/': { get: { operationId: 'listNodes', responses: { 200: ok('the fleet') } } },
      '/{id}': {
        get: { operationId: 'getNode', parameters: [pathParam('id')], responses: { 200: ok('one node') } },
      },
    },
  },
  admin: {
    openapi: '3.0.3',
    info: { title: 'Lucid admin interface', version: '1.0.0' },
    paths: { '/stats': { get: { operationId: 'stats', responses: { 200: ok('numbers for operators') } } } },
  },
};
