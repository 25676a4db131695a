import type { ComponentHealth } from '@lucid/gateway-core';
import type { CacheRecord } from './record.js';

/**
 * Where answers are kept. Records live under a path (the normalized request path) and a field (the
 * rest of the key), so a purge of one path drops all its variants at once.
 */
export interface CacheStore {
  readonly name: 'memory' | 'redis';
  get(path: string, field: string): Promise<CacheRecord | undefined>;
  set(path: string, field: string, record: CacheRecord, ttlMs: number): Promise<void>;
  /** Drops every record under `path`; resolves with how many paths were dropped (0 or 1). */
  purgePath(path: string): Promise<number>;
  /** Drops every record under paths starting with `prefix`; resolves with how many paths were dropped. */
  purgePrefix(prefix: string): Promise<number>;
  /** Takes a short lock on a key across instances (true: ours to fetch); stores in one process have none. */
  lock?(key: string, ms: number): Promise<boolean>;
  unlock?(key: string): Promise<void>;
  /** Bytes and entries held (the memory store). */
  usage?(): { bytes: number; entries: number };
  connect?(): Promise<void>;
  close(): Promise<void>;
  health?(): Promise<ComponentHealth>;
  describeError?(err: unknown): string;
}
