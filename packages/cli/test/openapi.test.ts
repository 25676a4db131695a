import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { join } from 'node:path';
import { ensureBuilt, runCli, tempProject } from '@lucid/test-kit/cli';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';

const USERS = JSON.stringify({
  openapi: '3.0.3',
  info: { title: 'Users', version: '1' },
  paths: { '/users': { get: { operationId: 'listUsers', responses: { '200': { description: 'ok' } } } } },
});

const BILLING_YAML = `openapi: 3.1.0
info: { title: Billing, version: "1" }
paths:
  /invoices:
    get:
      operationId: listInvoices
      responses: { "200": { description: ok } }
`;

const projects: Array<{ cleanup(): void }> = [];
let upstream: Server;
let upstreamUrl: string;

beforeAll(async () => {
  await ensureBuilt();
  upstream = createServer((req, res) => {
    const body = req.url === '/openapi.json' ? USERS : '{}';
    res.writeHead(req.url === '/openapi.json' ? 200 : 404, { 'content-type': 'application/json' });
    res.end(body);
  });
  await new Promise<void>((resolve) => upstream.listen(0, '127.0.0.1', resolve));
  upstreamUrl = `http://127.0.0.1:${(upstream.address() as { port: number }).port}`;
}, 180_000);
afterAll(async () => {
  upstream.closeAllConnections();
  await new Promise<void>((resolve) => upstream.close(() => resolve()));
});
afterEach(() => {
  for (const p of projects.splice(0)) p.cleanup();
});

function project(config: string) {
  const p = tempProject({ 'lucid-gateway.config.yaml': config, 'billing.yaml': BILLING_YAML });
  projects.push(p);
  return p;
}

describe('lucid-gateway openapi', () => {
  it('prints the merged document: fetched from a service, read from a file', async () => {
    const p = project(`
services:
  users: { targets: ["${upstreamUrl}"], openapi: /openapi.json }
  billing: { targets: ["${upstreamUrl}"], openapi: { file: ./billing.yaml } }
routes:
  - { prefix: /users, service: users, stripPrefix: false }
  - { prefix: /billing, service: billing, auth: public }
openapi: { publicUrl: "https://api.example.com" }
auth: { jwt: { secret: "a-development-secret-of-at-least-32-bytes", issuer: lucid-auth, audience: lucid-api } }
`);
    const r = await runCli(['openapi'], { cwd: p.dir });
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const doc = JSON.parse(r.stdout);
    expect(doc.openapi).toBe('3.1.0');
    expect(doc.servers).toEqual([{ url: 'https://api.example.com' }]);
    expect(Object.keys(doc.paths).sort()).toEqual(['/billing/invoices', '/users']);
    expect(doc.paths['/billing/invoices'].get.security).toEqual([]);
  });

  it('writes YAML with --out, and exits 1 naming a service whose document it could not have', async () => {
    const p = project(`
services:
  users: { targets: ["${upstreamUrl}"], openapi: /openapi.json }
  ledger: { targets: ["${upstreamUrl}"], openapi: /missing.json }
routes:
  - { prefix: /users, service: users, stripPrefix: false }
  - { prefix: /ledger, service: ledger }
auth: { jwt: { secret: "a-development-secret-of-at-least-32-bytes", issuer: lucid-auth, audience: lucid-api } }
`);
    const r = await runCli(['openapi', '--out', 'api.yaml'], { cwd: p.dir });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('wrote api.yaml');
    expect(r.stderr).toContain('ledger: answered 404');
    const doc = parseYaml(readFileSync(join(p.dir, 'api.yaml'), 'utf8'));
    expect(Object.keys(doc.paths)).toEqual(['/users']);
    expect(doc.info['x-unavailable-services']).toEqual(['ledger']);
  });

  it('refuses a document path that is not a path, naming the key', async () => {
    const p = project(`
services:
  users: { targets: ["${upstreamUrl}"], openapi: openapi.json }
routes:
  - { prefix: /users, service: users }
`);
    const r = await runCli(['openapi'], { cwd: p.dir });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('services.users.openapi');
  });
});
