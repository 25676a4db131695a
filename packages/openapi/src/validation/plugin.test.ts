import { composeConfigSchema, validateConfig } from '@lucid/gateway-core';
import { describe, expect, it } from 'vitest';
import { openapiPluginSchema } from '../schema.js';
import { validationPluginSchema } from './plugin.js';

const schema = composeConfigSchema([openapiPluginSchema, validationPluginSchema]);
// With an admin listener, as a sound config has it: a public /metrics is warned about.
const check = (input: Record<string, unknown>) =>
  validateConfig({ server: { admin: { port: 9901 } }, ...input }, { schema, provides: ['authentication'] });

describe('the validate route option', () => {
  it('takes true, false or the settings, and names a wrong key by its path', () => {
    const base = { services: { a: { targets: ['http://127.0.0.1:1'], openapi: '/openapi.json' } } };
    expect(check({ ...base, routes: [{ prefix: '/a', service: 'a', validate: true }] }).issues).toEqual([]);
    expect(
      check({
        ...base,
        routes: [{ prefix: '/a', service: 'a', validate: { responses: 'report', onMissing: 'closed' } }],
      }).issues,
    ).toEqual([]);
    const wrong = check({
      ...base,
      routes: [{ prefix: '/a', service: 'a', validate: { responses: 'yes' } }],
    });
    expect(wrong.config).toBeUndefined();
    expect(wrong.issues[0]?.path).toBe('routes[0].validate.responses');
    const typo = check({ ...base, routes: [{ prefix: '/a', service: 'a', validate: { request: true } }] });
    expect(typo.issues[0]?.path).toMatch(/^routes\[0\]\.validate/);
  });

  it('reports a validated route whose service has no openapi document: a warning when open, an error when closed', () => {
    const services = { a: { targets: ['http://127.0.0.1:1'] } };
    const open = check({ services, routes: [{ prefix: '/a', service: 'a', validate: true }] });
    expect(open.config).toBeDefined();
    expect(open.issues).toEqual([
      {
        path: 'routes[0].validate',
        message: 'service "a" has no openapi document to validate against',
        fix: 'set services.a.openapi (a path on the service, or { file: ... })',
        severity: 'warning',
      },
    ]);
    const closed = check({
      services,
      routes: [{ prefix: '/a', service: 'a', validate: { onMissing: 'closed' } }],
    });
    expect(closed.config).toBeUndefined();
    expect(closed.issues[0]).toMatchObject({ path: 'routes[0].validate', severity: 'error' });
  });

  it('refuses request checks on a route that streams its bodies', () => {
    const services = { a: { targets: ['http://127.0.0.1:1'], openapi: '/o.json' } };
    const streamed = check({
      services,
      routes: [{ prefix: '/a', service: 'a', validate: true, requestBuffering: false }],
    });
    expect(streamed.config).toBeUndefined();
    expect(streamed.issues[0]).toMatchObject({
      path: 'routes[0].validate',
      message: 'request bodies are checked once buffered, and this route does not buffer them',
    });
    // Reporting answers alone needs no buffered body.
    const report = check({
      services,
      routes: [
        {
          prefix: '/a',
          service: 'a',
          validate: { requests: false, responses: 'report' },
          requestBuffering: false,
        },
      ],
    });
    expect(report.issues).toEqual([]);
  });
});
