/**
 * What the mesh relies on in Consul's HTTP API, checked against whichever Consul the suite runs
 * on: the stand-in here, a real agent when CONSUL_HTTP_ADDR is set. Passing on both is what
 * keeps the stand-in honest.
 */

import { type ConsulUnderTest, consulUnderTest } from '@lucid/test-kit/consul';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';

const indexOf = (headers: Record<string, string | string[] | undefined>) => Number(headers['x-consul-index']);

describe('the Consul HTTP API the mesh relies on', () => {
  let consul: ConsulUnderTest;
  beforeEach(async () => {
    consul = await consulUnderTest();
  });
  afterEach(async () => {
    await consul.close();
  });

  it('answers health reads with X-Consul-Index, and a blocking read returns on a change with a higher index', async () => {
    const name = consul.unique('api');
    const first = await consul.raw('GET', `/v1/health/service/${name}?passing=true`);
    expect(first.status).toBe(200);
    expect(JSON.parse(first.text)).toEqual([]);
    const index = indexOf(first.headers);
    expect(index).toBeGreaterThan(0);

    const blocked = consul.raw('GET', `/v1/health/service/${name}?passing=true&index=${index}&wait=30s`);
    await consul.registerInstance({ name, port: 18_101 });
    const changed = await blocked;
    expect(indexOf(changed.headers)).toBeGreaterThan(index);
    const entries = JSON.parse(changed.text) as Array<{
      Service: { Service: string; Port: number };
      Checks: unknown[];
    }>;
    expect(entries.map((e) => [e.Service.Service, e.Service.Port])).toEqual([[name, 18_101]]);
  });

  it('returns the same index when a blocking read times out without a change', async () => {
    const name = consul.unique('quiet');
    await consul.registerInstance({ name, port: 18_111 });
    const index = indexOf((await consul.raw('GET', `/v1/health/service/${name}`)).headers);
    const timedOut = await consul.raw('GET', `/v1/health/service/${name}?index=${index}&wait=1s`);
    expect(indexOf(timedOut.headers)).toBe(index);
  });

  it('passing keeps only instances whose every check passes (warning and critical are out)', async () => {
    const name = consul.unique('mixed');
    await consul.registerInstance({ name, port: 18_121 });
    await consul.registerInstance({ name, port: 18_122, status: 'warning' });
    await consul.registerInstance({ name, port: 18_123, status: 'critical' });
    const all = JSON.parse((await consul.raw('GET', `/v1/health/service/${name}`)).text) as unknown[];
    const passing = JSON.parse(
      (await consul.raw('GET', `/v1/health/service/${name}?passing=true`)).text,
    ) as Array<{
      Service: { Port: number };
    }>;
    expect(all).toHaveLength(3);
    expect(passing.map((e) => e.Service.Port)).toEqual([18_121]);
  });

  it('filters by tag, and names a service check service:<id>', async () => {
    const name = consul.unique('tagged');
    const id = await consul.registerInstance({ name, port: 18_131, tags: ['blue'] });
    await consul.registerInstance({ name, port: 18_132, tags: ['green'] });
    const blue = JSON.parse((await consul.raw('GET', `/v1/health/service/${name}?tag=blue`)).text) as Array<{
      Service: { Port: number };
    }>;
    expect(blue.map((e) => e.Service.Port)).toEqual([18_131]);
    expect(Object.keys(await consul.agentChecks())).toContain(`service:${id}`);
  });

  it('registers and deregisters agent services', async () => {
    const name = consul.unique('agent');
    const id = await consul.registerInstance({ name, port: 18_141, meta: { a: 'b' } });
    expect((await consul.agentServices())[id]).toMatchObject({
      ID: id,
      Service: name,
      Port: 18_141,
      Meta: { a: 'b' },
    });
    await consul.deregister(id);
    expect((await consul.agentServices())[id]).toBeUndefined();
    expect((await consul.raw('PUT', `/v1/agent/service/deregister/${id}`)).status).toBe(404);
  });
});
