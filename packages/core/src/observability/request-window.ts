import { quantile } from './quantile.js';

/** Upper bounds of the latency buckets, in ms: enough resolution for p50/p99 at a glance. */
export const LATENCY_BOUNDS_MS = [1, 2, 5, 10, 20, 50, 100, 200, 500, 1_000, 2_000, 5_000, 10_000, 30_000];
const BOUNDS = LATENCY_BOUNDS_MS.length;
const WIDTH = BOUNDS + 1;
/** One slot of the window: its counts are the resolution of the history. */
export const SLOT_MS = 10_000;
/** Slots kept: the history reaches back 15 minutes. */
export const HISTORY_SLOTS = 90;
const SLOTS = HISTORY_SLOTS;
const SUMMARY_SLOTS = 30;
/** How far back a window's summary looks. */
export const WINDOW_MS = SLOT_MS * SUMMARY_SLOTS;

/** Per slot, oldest first, ending with the slot being filled; `p99Ms` is null for a slot without requests. */
export interface WindowSeries {
  requests: number[];
  errors: number[];
  p99Ms: Array<number | null>;
}

export interface WindowSummary {
  requests: number;
  errors: number;
  /** Milliseconds; null when there was no request in the window. */
  p50Ms: number | null;
  p99Ms: number | null;
}

/**
 * Requests, errors and latency of one target over the last fifteen minutes, in fixed 10-second
 * slots that are reused as time moves on: recording is a few array writes, and the memory is
 * fixed (under 7 kB) however much traffic passes. The summary covers the last five minutes. `now` is milliseconds on one clock used for every
 * call (the proxy passes `performance.timeOrigin + performance.now()`, which it has read anyway).
 *
 * @example
 * const w = new RequestWindow();
 * w.record(12.5, false, Date.now());
 * w.summary(Date.now()); // { requests: 1, errors: 0, p50Ms: 12.5, p99Ms: ... }
 */
export class RequestWindow {
  readonly #epochs = new Float64Array(SLOTS).fill(-1);
  readonly #requests = new Uint32Array(SLOTS);
  readonly #errors = new Uint32Array(SLOTS);
  readonly #latency = new Uint32Array(SLOTS * WIDTH);

  /** The slot being filled, and when its 10 seconds end (epoch ms). */
  #slot = 0;
  #slotEnd = 0;

  record(ms: number, error: boolean, now: number): void {
    // Most calls land in the current slot: one comparison, no division.
    const slot = now < this.#slotEnd && now >= this.#slotEnd - SLOT_MS ? this.#slot : this.#enter(now);
    this.#requests[slot]!++;
    if (error) this.#errors[slot]!++;
    let b = 0;
    while (b < BOUNDS && ms > LATENCY_BOUNDS_MS[b]!) b++;
    this.#latency[slot * WIDTH + b]!++;
  }

  /** Moves to the slot for `now`, clearing it when it still holds counts from a turn ago. */
  #enter(now: number): number {
    const epoch = Math.floor(now / SLOT_MS);
    const slot = epoch % SLOTS;
    if (this.#epochs[slot] !== epoch) {
      this.#epochs[slot] = epoch;
      this.#requests[slot] = 0;
      this.#errors[slot] = 0;
      this.#latency.fill(0, slot * WIDTH, slot * WIDTH + WIDTH);
    }
    this.#slot = slot;
    this.#slotEnd = (epoch + 1) * SLOT_MS;
    return slot;
  }

  summary(now: number): WindowSummary {
    const oldest = Math.floor(now / SLOT_MS) - SUMMARY_SLOTS + 1;
    const counts = new Array<number>(WIDTH).fill(0);
    let requests = 0;
    let errors = 0;
    for (let slot = 0; slot < SLOTS; slot++) {
      if (this.#epochs[slot]! < oldest) continue;
      requests += this.#requests[slot]!;
      errors += this.#errors[slot]!;
      for (let b = 0; b < WIDTH; b++) counts[b]! += this.#latency[slot * WIDTH + b]!;
    }
    return {
      requests,
      errors,
      p50Ms: round(quantile(counts, LATENCY_BOUNDS_MS, 0.5)),
      p99Ms: round(quantile(counts, LATENCY_BOUNDS_MS, 0.99)),
    };
  }

  /** The last fifteen minutes slot by slot (a slot not touched in that time counts zero). */
  series(now: number): WindowSeries {
    const current = Math.floor(now / SLOT_MS);
    const out: WindowSeries = { requests: [], errors: [], p99Ms: [] };
    const counts = new Array<number>(WIDTH);
    for (let epoch = current - SLOTS + 1; epoch <= current; epoch++) {
      const slot = epoch % SLOTS;
      if (this.#epochs[slot] !== epoch) {
        out.requests.push(0);
        out.errors.push(0);
        out.p99Ms.push(null);
        continue;
      }
      out.requests.push(this.#requests[slot]!);
      out.errors.push(this.#errors[slot]!);
      for (let b = 0; b < WIDTH; b++) counts[b] = this.#latency[slot * WIDTH + b]!;
      out.p99Ms.push(round(quantile(counts, LATENCY_BOUNDS_MS, 0.99)));
    }
    return out;
  }
}

function round(v: number | undefined): number | null {
  return v === undefined ? null : Math.round(v * 10) / 10;
}
