import { createServer } from 'node:net';
import { startUpstream, type Upstream } from '@lucid/test-kit';

/**
 * Stand-in services that publish OpenAPI documents, as the merge tests and the browser test use them.
 * Each answers its document at `docPath` and a small JSON answer on every other path.
 */
export interface DocUpstream extends Upstream {
  /** Replace what the document path answers (a string body, or a status to fail with). */
  serve(doc: string | number): void;
}

export async function docUpstream(
  docPath: string,
  doc: string,
  contentType = 'application/json',
): Promise<DocUpstream> {
  let current: string | number = doc;
  const upstream = await startUpstream((req, res, seen) => {
    if (req.url === docPath) {
      if (typeof current === 'number') {
        res.writeHead(current, { 'content-length': 0 });
        res.end();
        return;
      }
      res.writeHead(200, { 'content-type': contentType, 'content-length': Buffer.byteLength(current) });
      res.end(current);
      return;
    }
    const body = JSON.stringify({ upstream: docPath, method: seen.method, url: seen.url });
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
    res.end(body);
  });
  return Object.assign(upstream, {
    serve(next: string | number) {
      current = next;
    },
  });
}

/** A loopback address where nothing listens (a port bound, then let go). */
export async function deadUrl(): Promise<string> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return `http://127.0.0.1:${port}`;
}

/** The users service: OpenAPI 3.0 as JSON, with `nullable`, upstream servers and its own security. */
export const USERS_30 = {
  openapi: '3.0.3',
  info: { title: 'Users', version: '2.1.0' },
  servers: [{ url: 'http://users.internal:8080' }],
  security: [{ apiKey: [] }],
  tags: [{ name: 'people' }],
  paths: {
    '/users': {
      get: {
        operationId: 'listUsers',
        tags: ['people'],
        responses: {
          '200': {
            description: 'the users',
            content: {
              'application/json': { schema: { type: 'array', items: { $ref: '#/components/schemas/User' } } },
            },
          },
        },
      },
    },
    '/users/{id}': {
      parameters: [{ name: 'id', in: 'path', required: true, schema: { type: 'string' } }],
      get: {
        operationId: 'getUser',
        servers: [{ url: 'http://users-replica.internal' }],
        responses: {
          '200': {
            description: 'one user',
            content: { 'application/json': { schema: { $ref: '#/components/schemas/User' } } },
          },
          '404': {
            description: 'none',
            content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } },
          },
        },
      },
      delete: { operationId: 'deleteUser', responses: { '204': { description: 'gone' } } },
    },
    '/admin/stats': { get: { operationId: 'stats', responses: { '200': { description: 'internal' } } } },
  },
  components: {
    securitySchemes: { apiKey: { type: 'apiKey', in: 'header', name: 'x-api-key' } },
    schemas: {
      User: {
        type: 'object',
        required: ['id'],
        properties: {
          id: { type: 'string' },
          email: { type: 'string', nullable: true },
          age: { type: 'integer', minimum: 0, exclusiveMinimum: true },
        },
      },
      Error: { type: 'object', properties: { message: { type: 'string' } } },
    },
  },
};

/** The catalog service: OpenAPI 3.1 as YAML, served under a public, stripped prefix. */
export const CATALOG_31_YAML = `openapi: 3.1.0
info:
  title: Catalog
  version: "1.0"
paths:
  /items:
    get:
      operationId: listItems
      summary: List the items for sale
      responses:
        "200":
          description: the items
          content:
            application/json:
              schema:
                type: array
                items: { $ref: "#/components/schemas/Item" }
  /items/{sku}:
    get:
      operationId: getItem
      parameters:
        - { name: sku, in: path, required: true, schema: { type: string } }
      responses:
        "200":
          description: one item
          content:
            application/json:
              schema: { $ref: "#/components/schemas/Item" }
        "404":
          description: none
          content:
            application/json:
              schema: { $ref: "#/components/schemas/Error" }
components:
  schemas:
    Item:
      type: object
      properties:
        sku: { type: string }
        price: { type: [number, "null"] }
    Error:
      type: object
      required: [code]
      properties:
        code: { type: integer }
`;

/** The billing service: OpenAPI 3.0 whose `User` schema and `getUser` operationId clash with users'. */
export const BILLING_30 = {
  openapi: '3.0.0',
  info: { title: 'Billing', version: '0.9' },
  paths: {
    '/invoices': {
      get: {
        operationId: 'listInvoices',
        responses: { '200': { description: 'invoices' } },
      },
    },
    '/users/{id}': {
      get: {
        operationId: 'getUser',
        parameters: [{ name: 'id', in: 'path', required: true, schema: { type: 'string' } }],
        responses: {
          '200': {
            description: 'a billing account',
            content: { 'application/json': { schema: { $ref: '#/components/schemas/User' } } },
          },
        },
      },
    },
  },
  components: {
    schemas: {
      User: { type: 'object', properties: { account: { type: 'string' }, balance: { type: 'number' } } },
    },
  },
};
