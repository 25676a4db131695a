import type { PluginSetup } from '@lucid/gateway-core';

export type Log = Pick<PluginSetup['logger'], 'debug' | 'info' | 'warn' | 'error'>;

const noop = () => {};
/** Until `setup()` gives the gateway's logger. */
export const silentLog: Log = { debug: noop, info: noop, warn: noop, error: noop } as unknown as Log;

/** A short, address-free description of a Consul failure for logs and /health. */
export function describeError(err: unknown): string {
  if (typeof err !== 'object' || err === null) return String(err);
  const e = err as {
    code?: string;
    statusCode?: number;
    isTimeout?: boolean;
    isAbort?: boolean;
    message?: string;
  };
  if (e.isTimeout) return 'timeout';
  if (typeof e.statusCode === 'number') return `HTTP ${e.statusCode}`;
  if (e.code) return e.code;
  return e.message ?? 'error';
}
