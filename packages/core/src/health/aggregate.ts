import type { Logger } from 'pino';
import type { Runtime } from '../runtime.js';
import type { ComponentHealth, GatewayPlugin } from '../types.js';

/** Each service's state from its pool's cached background checks (never a live call). */
export function serviceHealth(rt: Runtime): Record<string, boolean> {
  const out: Record<string, boolean> = {};
  for (const [name, pool] of rt.pools) out[name] = pool.healthy();
  return out;
}

/** Each plugin's own health (or its discovery's); a failing check reads unhealthy, its reason goes to the log. */
export async function componentHealth(
  plugins: readonly GatewayPlugin[],
  logger: Logger,
): Promise<Record<string, ComponentHealth>> {
  const out: Record<string, ComponentHealth> = {};
  await Promise.all(
    plugins.map(async (p) => {
      const check = p.health ?? p.discovery?.health?.bind(p.discovery);
      if (!check) return;
      try {
        out[p.name] = await check.call(p);
      } catch (err) {
        // The message may name internal addresses: it goes to the log, not to /health.
        logger.warn({ err, plugin: p.name }, 'health check failed');
        out[p.name] = { healthy: false, detail: { error: 'health check failed' } };
      }
    }),
  );
  return out;
}
