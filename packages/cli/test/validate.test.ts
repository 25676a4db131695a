import { ensureBuilt, runCli, tempProject } from '@lucid/test-kit/cli';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';

const projects: Array<{ cleanup(): void }> = [];
beforeAll(ensureBuilt, 180_000);
afterEach(() => {
  for (const p of projects.splice(0)) p.cleanup();
});

/** zod's own wording, which a person should never have to read. */
const LIBRARY_PHRASES =
  /Invalid input|Invalid option|Too small|Too big|Unrecognized key|expected [a-z]+, received|ZodError/;

// Ten different mistakes: schema (core's and a plugin's) and semantic, in one file.
const MISTAKES = `
server:
  prot: 8080
  timeouts: { request: soon }
services:
  auth: { targets: ["ftp://auth:8089"], health: true }
  sessions: { targets: ["http://sessions:8087"], retry: { attempts: 9 } }
routes:
  - { prefix: /auth, service: auth, auth: public, methods: [FETCH] }
  - { prefix: /sessions, service: sesions }
  - { prefix: /admin, service: sessions, auth: public, scopes: [admin] }
  - { prefix: /ws, service: sessions, auth: public, websocket: "yes" }
rateLimit: { tiers: { free: 10/min }, defaultTier: 7 }
`;

const EXPECTED = [
  'server.prot: unknown key (did you mean "port"?)',
  'server.timeouts.request: "soon" is not a duration',
  'services.auth.targets[0]: expected an http:// or https:// URL',
  'services.auth.health: expected text, a mapping (key: value) or false, got true',
  'services.sessions.retry.attempts: must be at most 5',
  'routes[0].methods[0]: expected one of GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS',
  'routes[1].service: unknown service "sesions" (did you mean "sessions"?)',
  'routes[1].auth: "/sessions" needs a verified identity',
  'routes[2].auth: "/admin" is public but lists scopes',
  'routes[3].websocket: expected true or false or a mapping (key: value), got text ("yes")',
  'rateLimit.defaultTier: expected text, got a number (7)',
];

describe('validate says everything at once', () => {
  it('lists every problem of a config with many mistakes in one run, in its own words', async () => {
    const p = tempProject({ 'gw.yaml': MISTAKES });
    projects.push(p);
    const r = await runCli(['validate', '--config', 'gw.yaml'], { cwd: p.dir });
    expect(r.code).toBe(1);
    for (const line of EXPECTED) expect(r.stderr).toContain(line);
    expect(r.stderr).toContain(`has ${EXPECTED.length} problems`);
    expect(r.stderr).not.toMatch(LIBRARY_PHRASES);
  });

  it('gives the same list as JSON', async () => {
    const p = tempProject({ 'gw.yaml': MISTAKES });
    projects.push(p);
    const r = await runCli(['validate', '--json', '--config', 'gw.yaml'], { cwd: p.dir });
    expect(r.code).toBe(1);
    const out = JSON.parse(r.stdout) as {
      valid: boolean;
      problems: Array<{ path: string; message: string }>;
    };
    expect(out.valid).toBe(false);
    const paths = new Set(out.problems.map((x) => x.path));
    for (const line of EXPECTED) expect(paths).toContain(line.split(': ')[0]);
  });

  it('and a failed start says the same, before anything listens', async () => {
    const p = tempProject({ 'gw.yaml': MISTAKES });
    projects.push(p);
    const r = await runCli(['start', '--config', 'gw.yaml'], { cwd: p.dir });
    expect(r.code).toBe(1);
    for (const line of EXPECTED) expect(r.stderr).toContain(line);
    expect(r.stderr).not.toMatch(LIBRARY_PHRASES);
  });
});

describe('validate and request validation', () => {
  it('reports a route with validate whose service has no openapi: a warning when open, an error when closed', async () => {
    const p = tempProject({
      'open.yaml': `
services:
  sessions: { targets: ["http://sessions:8087"] }
routes:
  - { prefix: /sessions, service: sessions, auth: public, validate: true }
`,
      'closed.yaml': `
services:
  sessions: { targets: ["http://sessions:8087"] }
routes:
  - { prefix: /sessions, service: sessions, auth: public, validate: { onMissing: closed } }
`,
    });
    projects.push(p);
    const open = await runCli(['validate', '--config', 'open.yaml'], { cwd: p.dir });
    expect(open.code).toBe(0);
    expect(`${open.stdout}${open.stderr}`).toContain(
      'routes[0].validate: service "sessions" has no openapi document to validate against',
    );
    const closed = await runCli(['validate', '--config', 'closed.yaml'], { cwd: p.dir });
    expect(closed.code).toBe(1);
    expect(closed.stderr).toContain(
      'routes[0].validate: service "sessions" has no openapi document to validate against',
    );
    expect(closed.stderr).toContain('set services.sessions.openapi');
  });
});
