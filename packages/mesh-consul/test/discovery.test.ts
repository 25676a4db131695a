import { EventEmitter } from 'node:events';
import { composeConfigSchema, type ServiceConfig } from '@lucid/gateway-core';
import { type ConsulUnderTest, consulUnderTest, realAgent, until } from '@lucid/test-kit/consul';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { meshPluginSchema } from '../src/config/plugin-schema.js';
import { consulDiscovery } from '../src/index.js';

// A service as the gateway parses it with this plugin: `discovery: consul` and its `consul` options.
const serviceSchema = composeConfigSchema([meshPluginSchema]).service;

type Discovery = ReturnType<typeof consulDiscovery>;

/** Records what discovery pushes and lets a test wait for a push that satisfies a predicate. */
function recorder() {
  const pushes: string[][] = [];
  const events = new EventEmitter();
  return {
    pushes,
    onTargets: (targets: Array<{ id: string }>) => {
      pushes.push(targets.map((t) => t.id));
      events.emit('push');
    },
    latest: () => pushes.at(-1),
    waitFor: (predicate: (ids: string[]) => boolean) =>
      until(
        () => pushes.length > 0 && predicate(pushes.at(-1)!),
        (notify) => {
          events.on('push', notify);
          return () => events.off('push', notify);
        },
      ),
  };
}

const service = (consul: Partial<ServiceConfig['consul']> = {}): ServiceConfig =>
  serviceSchema.parse({ discovery: 'consul', consul });

/** Waits until discovery's state for `name` satisfies the predicate. */
function stateOf(
  discovery: Discovery,
  name: string,
  predicate: (s: ReturnType<Discovery['state']>[string]) => boolean,
) {
  return until(
    () => {
      const s = discovery.state()[name];
      return s !== undefined && predicate(s);
    },
    (notify) => discovery.subscribe(notify),
  );
}

const origin = (port: number) => `http://127.0.0.1:${port}`;

describe('consul discovery', () => {
  let consul: ConsulUnderTest;
  let discovery: Discovery;
  let name: string;

  beforeEach(async () => {
    consul = await consulUnderTest();
    name = consul.unique('sessions');
    discovery = consulDiscovery({
      consul: { url: consul.url, token: consul.token, wait: '5s', backoff: { min: 20, max: 200 } },
    });
  });

  afterEach(async () => {
    await discovery.close();
    await consul.close();
  });

  it('pushes the healthy instances, then every change within one blocking round trip', async () => {
    await consul.registerInstance({ name, port: 18_001 });
    const rec = recorder();
    discovery.watch('sessions', rec.onTargets, { service: service({ service: name }) });
    await rec.waitFor((ids) => ids.length === 1);
    expect(rec.latest()).toEqual([origin(18_001)]);

    // Added.
    await consul.registerInstance({ name, port: 18_002 });
    await rec.waitFor((ids) => ids.length === 2);
    expect(rec.latest()).toEqual([origin(18_001), origin(18_002)]);

    // Turning critical (and warning: `passing` means every check passes).
    await consul.setHealth(`${name}-18001`, 'critical');
    await rec.waitFor((ids) => !ids.includes(origin(18_001)));
    expect(rec.latest()).toEqual([origin(18_002)]);
    await consul.registerInstance({ name, port: 18_003, status: 'warning' });
    await consul.setHealth(`${name}-18001`, 'passing');
    await rec.waitFor((ids) => ids.includes(origin(18_001)));
    expect(rec.latest()).toEqual([origin(18_001), origin(18_002)]);

    // Removed.
    await consul.deregister(`${name}-18002`);
    await rec.waitFor((ids) => !ids.includes(origin(18_002)));
    expect(rec.latest()).toEqual([origin(18_001)]);
    expect(discovery.state().sessions).toMatchObject({ consulService: name, targets: 1, stale: false });
  });

  it('pushes an empty list when the service has no healthy instance from the start', async () => {
    const rec = recorder();
    discovery.watch('sessions', rec.onTargets, { service: service({ service: name }) });
    await rec.waitFor(() => true);
    expect(rec.latest()).toEqual([]);
    await consul.registerInstance({ name, port: 18_010 });
    await rec.waitFor((ids) => ids.length === 1);
  });

  it('keeps the last known targets when every instance turns critical, and reports it', async () => {
    await consul.registerInstance({ name, port: 18_021 });
    const rec = recorder();
    discovery.watch('sessions', rec.onTargets, { service: service({ service: name }) });
    await rec.waitFor((ids) => ids.length === 1);

    await consul.setHealth(`${name}-18021`, 'critical');
    await stateOf(discovery, 'sessions', (s) => s.stale);
    expect(discovery.state().sessions).toMatchObject({ stale: true, reason: 'empty', targets: 1 });
    expect(rec.pushes.every((ids) => ids.length === 1)).toBe(true);
    const health = await discovery.health();
    expect(health.healthy).toBe(false);
    expect(health.detail).toMatchObject({ stale: ['sessions'] });

    await consul.setHealth(`${name}-18021`, 'passing');
    await stateOf(discovery, 'sessions', (s) => !s.stale);
    expect((await discovery.health()).healthy).toBe(true);
  });

  it('starts a second watch of the same service (a config reload) with the known targets at once', async () => {
    await consul.registerInstance({ name, port: 18_071 });
    const first = recorder();
    discovery.watch('sessions', first.onTargets, { service: service({ service: name }) });
    await first.waitFor((ids) => ids.length === 1);
    const second = recorder();
    discovery.watch('sessions', second.onTargets, { service: service({ service: name }) });
    expect(second.pushes).toEqual([[origin(18_071)]]);
    // Another query (a tag) is a different list: nothing known yet.
    const tagged = recorder();
    discovery.watch('tagged', tagged.onTargets, { service: service({ service: name, tag: 'x' }) });
    expect(tagged.pushes).toEqual([]);
  });

  it('stops watching when the stop function is called', async () => {
    const rec = recorder();
    const stop = discovery.watch('sessions', rec.onTargets, { service: service({ service: name }) });
    await rec.waitFor(() => true);
    stop();
    expect(discovery.state().sessions).toBeUndefined();
    expect((await discovery.health()).detail).toEqual({ services: {} });
    // The in-flight blocking read was aborted: closing does not wait for it.
    await discovery.close();
  });

  it.skipIf(realAgent)(
    'keeps traffic on the last known targets while Consul is down, and recovers',
    async () => {
      const server = consul.server!;
      await consul.registerInstance({ name, port: 18_031 });
      await consul.registerInstance({ name, port: 18_032 });
      const rec = recorder();
      discovery.watch('sessions', rec.onTargets, { service: service({ service: name }) });
      await rec.waitFor((ids) => ids.length === 2);
      const pushesBefore = rec.pushes.length;

      await server.stop();
      await stateOf(discovery, 'sessions', (s) => s.stale && s.reason === 'error');
      expect(rec.pushes).toHaveLength(pushesBefore);
      expect(discovery.state().sessions).toMatchObject({ stale: true, reason: 'error', targets: 2 });
      expect(discovery.state().sessions?.lastError).toMatch(/ECONNREFUSED|ECONNRESET|socket hang up/);

      await server.start();
      await stateOf(discovery, 'sessions', (s) => !s.stale);
      // And it follows changes again.
      await consul.deregister(`${name}-18031`);
      await rec.waitFor((ids) => ids.length === 1);
      expect(rec.latest()).toEqual([origin(18_032)]);
    },
  );

  it.skipIf(realAgent)('treats Consul error answers like an outage', async () => {
    const server = consul.server!;
    await consul.registerInstance({ name, port: 18_041 });
    const rec = recorder();
    discovery.watch('sessions', rec.onTargets, { service: service({ service: name }) });
    await rec.waitFor((ids) => ids.length === 1);

    server.failRequests(500);
    await stateOf(discovery, 'sessions', (s) => s.stale);
    expect(discovery.state().sessions).toMatchObject({ reason: 'error', lastError: 'HTTP 500', targets: 1 });
    expect(rec.latest()).toEqual([origin(18_041)]);
    server.failRequests(undefined);
    await stateOf(discovery, 'sessions', (s) => !s.stale);
  });

  it.skipIf(realAgent)('sends passing, tag, dc, ns, index and wait as Consul documents them', async () => {
    const server = consul.server!;
    await consul.registerInstance({ name, port: 18_051, tags: ['blue'], namespace: 'team-a' });
    await consul.registerInstance({ name, port: 18_052, tags: ['green'], namespace: 'team-a' });
    await consul.registerInstance({ name, port: 18_053, tags: ['blue'] });
    const rec = recorder();
    const blocked = (async () => {
      for (;;) {
        const seen = await server.nextRequest(`/v1/health/service/${name}`);
        if (seen.query.index) return seen;
      }
    })();
    discovery.watch('sessions', rec.onTargets, {
      service: service({ service: name, tag: 'blue', dc: 'dc1', ns: 'team-a' }),
    });
    await rec.waitFor((ids) => ids.length === 1);
    expect(rec.latest()).toEqual([origin(18_051)]);
    const first = server.requests.find((r) => r.path === `/v1/health/service/${name}`)!;
    expect(first.query).toMatchObject({ passing: 'true', tag: 'blue', dc: 'dc1', ns: 'team-a' });
    expect(first.query.index).toBeUndefined();
    const second = await blocked;
    expect(second.query).toMatchObject({
      passing: 'true',
      tag: 'blue',
      dc: 'dc1',
      ns: 'team-a',
      wait: '5000ms',
    });
    expect(Number(second.query.index)).toBeGreaterThan(0);
  });

  it.skipIf(realAgent)(
    'a wrong datacenter is a Consul error, and the service is reported stale',
    async () => {
      const rec = recorder();
      discovery.watch('sessions', rec.onTargets, { service: service({ service: name, dc: 'dc9' }) });
      await stateOf(discovery, 'sessions', (s) => s.stale);
      expect(discovery.state().sessions).toMatchObject({
        reason: 'error',
        lastError: 'HTTP 500',
        targets: 0,
      });
      expect(rec.pushes).toEqual([]);
    },
  );

  it.skipIf(realAgent)('starts over with a non-blocking read when the index goes backwards', async () => {
    const server = consul.server!;
    await discovery.close();
    // A short wait: after a restore the old index blocks until the wait ends, as on a real agent.
    discovery = consulDiscovery({ consul: { url: consul.url, wait: '1s', backoff: { min: 20, max: 200 } } });
    await consul.registerInstance({ name, port: 18_061 });
    const rec = recorder();
    discovery.watch('sessions', rec.onTargets, { service: service({ service: name }) });
    await rec.waitFor((ids) => ids.length === 1);

    server.resetIndex();
    const reset = (async () => {
      for (;;) {
        const seen = await server.nextRequest(`/v1/health/service/${name}`);
        if (!seen.query.index) return seen;
      }
    })();
    await reset;
    await consul.registerInstance({ name, port: 18_062 });
    await rec.waitFor((ids) => ids.length === 2);
  });
});
