import type { ConfigFlags } from '../commands/common.js';

/** What `lucid-gateway start` is told, shared by the single process and the `--workers` primary. */
export interface StartFlags extends ConfigFlags {
  port?: number | undefined;
  host?: string | undefined;
  workers?: number | undefined;
  watch?: boolean | undefined;
}

/** Tells a worker its slot (0..N-1), which a restarted worker keeps. */
export const WORKER_SLOT_ENV = 'LUCID_GATEWAY_WORKER_SLOT';
