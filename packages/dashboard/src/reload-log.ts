import { createHash } from 'node:crypto';
import { ConfigError } from '@lucid/gateway-core';

export interface ReloadView {
  /** ISO time the gateway was built. */
  startedAt: string;
  /** A hash of the config in force (sha-256 of its canonical JSON, first 16 hex digits). */
  configHash: string;
  /** The last reload attempt; null when there was none. */
  lastReload: {
    at: string;
    ok: boolean;
    /** Why it was refused: the config paths at fault, never the values (they may hold secrets). */
    error?: string;
    /** The hash of the config that attempt offered, when it could be read. */
    configHash?: string;
  } | null;
}

/**
 * Identifies a config without showing it: the same config (keys in any order) gives the same hash
 * on every process and host, so operators can compare what runs where.
 *
 * @example configHash({ b: 1, a: 2 }) === configHash({ a: 2, b: 1 }) // true
 */
export function configHash(config: unknown): string {
  return createHash('sha256').update(canonicalJson(config)).digest('hex').slice(0, 16);
}

function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const keys = Object.keys(value).sort();
    return `{${keys
      .filter((k) => (value as Record<string, unknown>)[k] !== undefined)
      .map((k) => `${JSON.stringify(k)}:${canonicalJson((value as Record<string, unknown>)[k])}`)
      .join(',')}}`;
  }
  return JSON.stringify(value) ?? 'null';
}

/** Why a reload was refused, in words safe to show: config paths, never values or file contents. */
function describeFailure(err: unknown): string {
  if (err instanceof ConfigError) {
    const paths = [...new Set(err.issues.map((i) => i.path || '(root)'))];
    const shown = paths.slice(0, 5).join(', ');
    return `invalid config at ${shown}${paths.length > 5 ? ` and ${paths.length - 5} more` : ''}`;
  }
  const code = (err as { code?: unknown } | undefined)?.code;
  return typeof code === 'string' && /^[A-Z0-9_]{1,40}$/.test(code) ? `failed (${code})` : 'failed';
}

/** The config in force and the last reload attempt, for the dashboard. */
export class ReloadLog {
  readonly #startedAt = new Date().toISOString();
  #hash: string;
  #last: ReloadView['lastReload'] = null;

  constructor(config: unknown) {
    this.#hash = configHash(config);
  }

  succeeded(config: unknown): void {
    this.#hash = configHash(config);
    this.#last = { at: new Date().toISOString(), ok: true, configHash: this.#hash };
  }

  failed(err: unknown): void {
    this.#last = { at: new Date().toISOString(), ok: false, error: describeFailure(err) };
  }

  view(): ReloadView {
    return { startedAt: this.#startedAt, configHash: this.#hash, lastReload: this.#last };
  }
}
