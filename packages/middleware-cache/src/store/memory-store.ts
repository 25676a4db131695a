import { type CacheRecord, recordBytes } from './record.js';
import type { CacheStore } from './types.js';

interface Slot {
  record: CacheRecord;
  bytes: number;
  expiresAt: number;
  path: string;
}

/**
 * Records in this process, least recently used evicted first once `maxSize` bytes are held. A
 * `Map` keeps insertion order: a hit moves its slot to the end, eviction takes from the front.
 *
 * @example const store = new MemoryCacheStore({ maxSize: 64 * 1024 * 1024 });
 */
export class MemoryCacheStore implements CacheStore {
  readonly name = 'memory';
  readonly #slots = new Map<string, Slot>();
  readonly #maxSize: number;
  #bytes = 0;

  constructor(opts: { maxSize: number }) {
    this.#maxSize = opts.maxSize;
  }

  async get(path: string, field: string): Promise<CacheRecord | undefined> {
    const key = `${path}\0${field}`;
    const slot = this.#slots.get(key);
    if (slot === undefined) return undefined;
    if (slot.expiresAt <= Date.now()) {
      this.#drop(key, slot);
      return undefined;
    }
    this.#slots.delete(key);
    this.#slots.set(key, slot);
    return slot.record;
  }

  async set(path: string, field: string, record: CacheRecord, ttlMs: number): Promise<void> {
    const key = `${path}\0${field}`;
    const old = this.#slots.get(key);
    if (old) this.#drop(key, old);
    const bytes = recordBytes(record);
    if (bytes > this.#maxSize || ttlMs <= 0) return;
    for (const [k, slot] of this.#slots) {
      if (this.#bytes + bytes <= this.#maxSize) break;
      this.#drop(k, slot);
    }
    this.#slots.set(key, { record, bytes, expiresAt: Date.now() + ttlMs, path });
    this.#bytes += bytes;
  }

  async purgePath(path: string): Promise<number> {
    let dropped = 0;
    for (const [k, slot] of this.#slots) {
      if (slot.path !== path) continue;
      this.#drop(k, slot);
      dropped = 1;
    }
    return dropped;
  }

  async purgePrefix(prefix: string): Promise<number> {
    const paths = new Set<string>();
    for (const [k, slot] of this.#slots) {
      if (!slot.path.startsWith(prefix)) continue;
      paths.add(slot.path);
      this.#drop(k, slot);
    }
    return paths.size;
  }

  usage() {
    return { bytes: this.#bytes, entries: this.#slots.size };
  }

  async close(): Promise<void> {}

  #drop(key: string, slot: Slot) {
    this.#slots.delete(key);
    this.#bytes -= slot.bytes;
  }
}
