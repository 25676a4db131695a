import type { Target, TransportOptions } from '../types.js';
import { openSession, type Session, type SessionOptions } from './http2-session.js';

/**
 * The sessions to each target, per transport: one with room for one more stream; a further one when
 * the peer's concurrent-stream limit is reached, up to `maxSessions`; past that, the least busy (its
 * streams wait for the peer's room: more sessions would only move the queue upstream).
 */
export class SessionPool {
  readonly #groups = new Map<string, Session[]>();

  constructor(
    private readonly maxSessions: number,
    private readonly options: SessionOptions,
  ) {}

  /**
   * A session with room for one more stream; a new one while under the cap; else the least busy.
   * `fresh`: a new session (connection) for this stream, which then serves the pool like any other.
   */
  pick(target: Target, transport: TransportOptions, fresh = false): Session {
    const key = `${transport.key}|${target.id}`;
    let group = this.#groups.get(key);
    if (group === undefined) {
      group = [];
      this.#groups.set(key, group);
    }
    let least: Session | undefined;
    for (const s of fresh ? [] : group) {
      if (s.done) continue;
      if (s.active < s.capacity) return s;
      if (least === undefined || s.active < least.active) least = s;
    }
    if (!fresh && least !== undefined && group.length >= this.maxSessions) return least;
    const session = openSession(target, transport, this.options, (gone) => {
      const list = this.#groups.get(key);
      if (list === undefined) return;
      const i = list.indexOf(gone);
      if (i >= 0) list.splice(i, 1);
      if (list.length === 0 && this.#groups.get(key) === list) this.#groups.delete(key);
    });
    group.push(session);
    return session;
  }

  /** The number of open sessions. */
  get size(): number {
    let n = 0;
    for (const g of this.#groups.values()) n += g.length;
    return n;
  }

  /** Closes the sessions of targets that are gone (after discovery changes). */
  retain(liveTargetIds: ReadonlySet<string>): void {
    for (const [key, group] of this.#groups) {
      if (liveTargetIds.has(key.slice(key.indexOf('|') + 1))) continue;
      this.#groups.delete(key);
      for (const s of group) void s.close();
    }
  }

  async close(): Promise<void> {
    const all = [...this.#groups.values()].flat();
    this.#groups.clear();
    await Promise.all(all.map((s) => s.close()));
  }
}
