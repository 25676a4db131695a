import type { GatewayPlugin } from '../plugin.js';
import type { Runtime } from '../runtime.js';
import type { ComponentHealth } from '../types.js';
import type { ServiceStatus } from '../upstream/pool.js';

/** Logs a failed check: one line for operators, without the error's stack. */
export type WarnFailure = (err: unknown, fields: Record<string, unknown>, msg: string) => void;

/** Each service's state from its pool's cached background checks (never a live call): up, down or unknown. */
export function serviceHealth(rt: Runtime): Record<string, ServiceStatus> {
  const out: Record<string, ServiceStatus> = {};
  for (const [name, pool] of rt.pools) out[name] = pool.status();
  return out;
}

/** Each plugin's own health (or its discovery's); a failing check reads unhealthy, its reason goes to the log. */
export async function componentHealth(
  plugins: readonly GatewayPlugin[],
  warn: WarnFailure,
): Promise<Record<string, ComponentHealth>> {
  const out: Record<string, ComponentHealth> = {};
  await Promise.all(
    plugins.map(async (p) => {
      if (p.componentHealth) {
        try {
          Object.assign(out, await p.componentHealth());
        } catch (err) {
          warn(err, { plugin: p.name }, 'health check failed');
          out[p.name] = { healthy: false, detail: { error: 'health check failed' } };
        }
      }
      const check = p.health ?? p.discovery?.health?.bind(p.discovery);
      if (!check) return;
      try {
        out[p.name] = await check.call(p);
      } catch (err) {
        // The message may name internal addresses: it goes to the log, not to /health.
        warn(err, { plugin: p.name }, 'health check failed');
        out[p.name] = { healthy: false, detail: { error: 'health check failed' } };
      }
    }),
  );
  return out;
}
