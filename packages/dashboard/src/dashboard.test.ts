import { ConfigError, composeConfigSchema, parseConfig as parseCore } from '@lucid/gateway-core';
import { describe, expect, it } from 'vitest';
import { dashboardAccess } from './access.js';
import { pageHtml } from './page.js';
import { configHash, ReloadLog } from './reload-log.js';
import { dashboardPluginSchema } from './schema.js';

// Core's schema with this package's built-in, as a gateway with `dashboard()` composes it.
const schema = composeConfigSchema([dashboardPluginSchema]);
const parseConfig = (input: unknown, opts: { provides?: ReadonlySet<string> } = {}) =>
  parseCore(input, { ...opts, schema });

const svc = { services: { a: { targets: ['http://127.0.0.1:9'] } } };

describe('builtins.ui in the config', () => {
  it('is off by default, and `true` turns it on at /ui', () => {
    expect(parseConfig(svc).builtins.ui).toBe(false);
    expect(parseConfig({ ...svc, builtins: { ui: true } }).builtins.ui).toEqual({
      path: '/ui',
      refresh: 2000,
    });
  });

  it('takes a path, a policy, scopes and a refresh', () => {
    const ui = parseConfig(
      {
        ...svc,
        builtins: { ui: { path: '/ops', auth: 'required', scopes: ['ops'], refresh: '5s' } },
      },
      { provides: AUTHENTICATES },
    ).builtins.ui;
    expect(ui).toEqual({ path: '/ops', auth: 'required', scopes: ['ops'], refresh: 5000 });
  });

  it.each([
    [{ refresh: '10ms' }, /builtins\.ui\.refresh.*250ms/],
    [{ path: 'ui' }, /builtins\.ui/],
    [{ path: '/' }, /builtins\.ui\.path.*a path of its own/],
    [{ path: '/a/../b' }, /builtins\.ui/],
    [{ auth: 'maybe' }, /builtins\.ui/],
    [{ colour: 'red' }, /builtins\.ui/],
  ])('refuses %j with a message naming the key', (ui, message) => {
    expect(() => parseConfig({ ...svc, builtins: { ui } })).toThrow(message);
  });
});

const AUTHENTICATES = new Set(['authentication']);
const NOTHING = new Set<string>();

describe('dashboardAccess', () => {
  it('wants the admin scope where a plugin authenticates, and is public where none does', () => {
    expect(dashboardAccess({}, AUTHENTICATES)).toEqual({
      auth: 'required',
      scopes: ['admin'],
    });
    expect(dashboardAccess({}, NOTHING)).toEqual({ auth: 'public', scopes: [] });
  });

  it('keeps what the config says', () => {
    expect(dashboardAccess({ auth: 'public' }, AUTHENTICATES)).toEqual({
      auth: 'public',
      scopes: [],
    });
    expect(dashboardAccess({ scopes: ['ops'] }, AUTHENTICATES)).toEqual({
      auth: 'required',
      scopes: ['ops'],
    });
    expect(dashboardAccess({ auth: 'required', scopes: [] }, AUTHENTICATES)).toEqual({
      auth: 'required',
      scopes: [],
    });
  });
});

describe('configHash and ReloadLog', () => {
  it('hashes a config the same whatever the key order, and differently when a value changes', () => {
    expect(configHash({ a: 1, b: { c: [1, 2], d: 'x' } })).toBe(
      configHash({ b: { d: 'x', c: [1, 2] }, a: 1 }),
    );
    expect(configHash({ a: 1 })).not.toBe(configHash({ a: 2 }));
    expect(configHash({ a: [1, 2] })).not.toBe(configHash({ a: [2, 1] }));
  });

  it('describes a refused reload by the paths at fault only', () => {
    const log = new ReloadLog({ a: 1 });
    const many = Array.from({ length: 7 }, (_, i) => ({
      path: `routes[${i}].prefix`,
      message: 'secret-value',
    }));
    log.failed(new ConfigError(many));
    const view = log.view();
    expect(view.lastReload).toMatchObject({ ok: false });
    expect(view.lastReload!.error).toBe(
      'invalid config at routes[0].prefix, routes[1].prefix, routes[2].prefix, routes[3].prefix, routes[4].prefix and 2 more',
    );
    log.failed(Object.assign(new Error('EACCES: /secret'), { code: 'EACCES' }));
    expect(log.view().lastReload!.error).toBe('failed (EACCES)');
    log.failed(Object.assign(new Error('x'), { code: 'a code with\nnew lines' }));
    expect(log.view().lastReload!.error).toBe('failed');
  });
});

describe('pageHtml', () => {
  it('escapes the gateway name and loads only its own relative assets', () => {
    const html = pageHtml({ title: '<img src=x onerror=alert(1)>', refreshMs: 1500 });
    expect(html).not.toContain('<img');
    expect(html).toContain('&#60;img');
    expect(html).toContain('data-refresh-ms="1500"');
    expect([...html.matchAll(/(?:src|href)="([^"]+)"/g)].map((m) => m[1])).toEqual([
      'favicon.svg',
      'uplot.css',
      'app.css',
      'uplot.js',
      'app.js',
      'state.json',
    ]);
  });
});
