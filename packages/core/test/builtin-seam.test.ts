import {
  ConfigError,
  composeConfigSchema,
  configReference,
  createGateway,
  createLogger,
  type Gateway,
  type GatewayConfigInput,
  type GatewayObserver,
  type GatewayPlugin,
  type GatewayView,
  PLUGIN_ORDER,
  type PluginSchema,
  sendJson,
} from '@lucid/gateway-core';
import { send } from '@lucid/test-kit';
import { afterEach, describe, expect, it } from 'vitest';
import { z } from 'zod';

/**
 * A third-party plugin that brings a built-in of its own (a purge endpoint, as a cache would),
 * written against core's public seam only: declared in its schema, answered over the gateway's view.
 */
const purgeSchema: PluginSchema = {
  name: 'purge',
  builtins: {
    purge: {
      path: '/purge',
      exact: false,
      optIn: true,
      options: { dryRun: z.boolean().default(false) },
      access: (settings) => ({
        auth: (settings.auth as 'required' | 'public' | undefined) ?? 'required',
        scopes: (settings.scopes as string[] | undefined) ?? ['admin'],
      }),
    },
    reference: { path: '/reference', exact: false, reference: true },
  },
};

interface Seen {
  view?: GatewayView;
  events: string[];
}

function purgePlugin(seen: Seen, extra: GatewayObserver = {}): GatewayPlugin {
  return {
    name: 'purge',
    schema: purgeSchema,
    builtins(view) {
      seen.view = view;
      view.observe({
        configured: (config) => seen.events.push(`configured ${config.name}`),
        reloadFailed: () => seen.events.push('reload failed'),
        closed: () => seen.events.push('closed'),
      });
      view.observe(extra);
      return {
        purge: async function purge(ctx) {
          const settings = view.config().builtins.purge as { dryRun: boolean } | false;
          sendJson(
            ctx.res,
            200,
            {
              purged: ctx.route.upstreamPath,
              dryRun: settings !== false && settings.dryRun,
              by: ctx.state.identity?.sub,
            },
            { requestId: ctx.requestId, method: ctx.req.method, headers: ctx.responseHeaders },
          );
        },
        reference: async function reference(ctx) {
          sendJson(
            ctx.res,
            200,
            { reference: true },
            { requestId: ctx.requestId, headers: ctx.responseHeaders },
          );
        },
      };
    },
  };
}

/** Authenticates `x-test-user: name scope,scope` (a stand-in for a real authenticator). */
const headerAuth: GatewayPlugin = {
  name: 'header-auth',
  provides: ['authentication'],
  order: PLUGIN_ORDER.authentication,
  middleware: () =>
    async function headerAuth(ctx, next) {
      const raw = ctx.req.headers['x-test-user'];
      if (typeof raw === 'string') {
        const [sub, scopes = ''] = raw.split(' ');
        ctx.state.identity = { sub, scopes: new Set(scopes.split(',').filter(Boolean)), claims: {} };
      }
      await next();
    },
};

/** Runs on every route of the chain, built-ins included: the built-in is behind the same chain. */
const stamp: GatewayPlugin = {
  name: 'stamp',
  middleware: () =>
    async function stamp(ctx, next) {
      ctx.responseHeaders['x-stamped'] = '1';
      await next();
    },
};

const silent = createLogger({ level: 'silent', pretty: false, accessLog: false });
const gateways: Gateway[] = [];
afterEach(async () => {
  for (const g of gateways.splice(0)) await g.close({ graceMs: 0 });
});

async function start(config: Record<string, unknown>, plugins: GatewayPlugin[]) {
  const gateway = createGateway({ name: 'seam', ...config } as GatewayConfigInput, {
    plugins,
    logger: silent,
  });
  gateways.push(gateway);
  const { port } = await gateway.listen({ port: 0, host: '127.0.0.1' });
  return { gateway, url: `http://127.0.0.1:${port}` };
}

describe("a plugin's own built-in", () => {
  it('is off until turned on, then mounted behind the same chain with its default access (admin scope)', async () => {
    const seen: Seen = { events: [] };
    const off = await start({}, [headerAuth, purgePlugin(seen)]);
    expect((await send(`${off.url}/purge/all`, { headers: { 'x-test-user': 'ops admin' } })).status).toBe(
      404,
    );

    const { url } = await start({ builtins: { purge: true } }, [headerAuth, stamp, purgePlugin(seen)]);
    expect((await send(`${url}/purge/all`)).status).toBe(401);
    const noScope = await send(`${url}/purge/all`, { headers: { 'x-test-user': 'eve read' } });
    expect(noScope.status).toBe(403);
    const ok = await send(`${url}/purge/all`, { headers: { 'x-test-user': 'ops admin' } });
    expect(ok.status).toBe(200);
    expect(ok.headers['x-stamped']).toBe('1');
    expect(ok.json()).toEqual({ purged: '/all', dryRun: false, by: 'ops' });
    // GET and HEAD only, as core's own built-ins.
    const post = await send(`${url}/purge/all`, { method: 'POST', headers: { 'x-test-user': 'ops admin' } });
    expect(post.status).toBe(405);
    // A path that only looks like it (no segment boundary) is not the built-in.
    expect((await send(`${url}/purgeall`, { headers: { 'x-test-user': 'ops admin' } })).status).toBe(404);
  });

  it('takes builtins.<name> like core’s: a moved path, its own options, `false`, and errors that name the key', async () => {
    const seen: Seen = { events: [] };
    const { url } = await start(
      { builtins: { purge: { path: '/ops/purge', dryRun: true, auth: 'public' } } },
      [purgePlugin(seen)],
    );
    expect((await send(`${url}/ops/purge/x`)).json()).toMatchObject({ purged: '/x', dryRun: true });
    expect((await send(`${url}/purge/x`)).status).toBe(404);

    const bad = (builtins: unknown, plugins: GatewayPlugin[] = [purgePlugin(seen)]) => {
      try {
        createGateway({ builtins } as GatewayConfigInput, { plugins, logger: silent });
      } catch (err) {
        return (err as ConfigError).issues.map((i) => i.path);
      }
      return [];
    };
    expect(bad({ purge: { pth: '/p' } })).toEqual(['builtins.purge.pth']);
    expect(bad({ purge: { dryRun: 'yes' } })).toEqual(['builtins.purge.dryRun']);
    // Its default access needs authentication; with no authenticating plugin the gateway fails closed.
    expect(bad({ purge: { auth: 'required' } })).toEqual(['builtins.purge.auth']);
    // Without the plugin, the key is unknown (and named).
    expect(bad({ purge: true }, [])).toEqual(['builtins.purge']);
  });

  it('is documented with the config: its keys are in the reference', () => {
    const reference = configReference(composeConfigSchema([purgeSchema]));
    expect(reference).toContain('`builtins.purge.path`');
    expect(reference).toContain('`builtins.purge.dryRun`');
  });

  it('cannot answer a built-in its own schema does not declare (core’s /health least of all), and the root page links the API reference', async () => {
    const rogue: GatewayPlugin = { name: 'rogue', builtins: () => ({ health: async () => {} }) };
    expect(() => createGateway({}, { plugins: [rogue], logger: silent })).toThrow(
      'plugin "rogue": a handler for "health", which its schema does not declare as a built-in',
    );
    const seen: Seen = { events: [] };
    const { url } = await start({}, [purgePlugin(seen)]);
    expect((await send(`${url}/`)).json()).toMatchObject({ docs: '/reference' });
    const moved = await start({ builtins: { reference: false } }, [purgePlugin({ events: [] })]);
    expect((await send(`${moved.url}/`)).json<{ docs: string }>().docs).toMatch(/^https:\/\//);
  });
});

describe('the gateway view and its events', () => {
  it('tells observers when a config is in force, when a reload is refused and when the gateway closes', async () => {
    const seen: Seen = { events: [] };
    const throwing: GatewayObserver = {
      configured() {
        throw new Error('an observer that fails');
      },
    };
    const { gateway } = await start({ name: 'first' }, [purgePlugin(seen, throwing)]);
    await gateway.reload({ name: 'second' });
    await expect(
      gateway.reload({ name: 'third', routes: [{ prefix: '/x', service: 'nope' }] }),
    ).rejects.toThrow(ConfigError);
    gateway.reloadFailed(new Error('a file that did not load'));
    await gateway.close({ graceMs: 0 });
    expect(seen.events).toEqual([
      'configured first',
      'configured second',
      'reload failed',
      'reload failed',
      'closed',
    ]);
  });

  it('reads what runs now: a reload shows at once', async () => {
    const seen: Seen = { events: [] };
    const { gateway } = await start(
      {
        services: { a: { targets: ['http://127.0.0.1:9'], health: false } },
        routes: [{ prefix: '/a', service: 'a', auth: 'public' }],
      },
      [purgePlugin(seen)],
    );
    const view = seen.view!;
    expect(view.name).toBe('seam');
    expect(view.routes().map((r) => r.id)).toContain('/a');
    expect([...view.pools().keys()]).toEqual(['a']);
    expect(view.mounted('purge')).toBeUndefined();
    expect(view.mounted('health')).toBe('/health');
    expect(view.reference()).toBe('/reference');
    await gateway.reload({ services: {}, routes: [] });
    expect(view.routes().map((r) => r.id)).not.toContain('/a');
    expect([...view.pools().keys()]).toEqual([]);
  });
});
