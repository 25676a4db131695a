export interface DependencyBreakerOptions {
  /** Consecutive timeouts that open it. */
  failures: number;
  /** How long it stays open before the next background probe (ms). */
  cooldown: number;
  /** Tests the dependency once (resolves: it answers again; rejects: still down). */
  probe: () => Promise<unknown>;
  /** Told when it opens and when it closes again (for one log line each). */
  onChange?: (open: boolean) => void;
}

/**
 * A breaker for a dependency that can hang (a stopped Redis, a key-set endpoint that never
 * answers): after `failures` timeouts in a row it opens, and callers fail fast to their own policy
 * instead of each waiting the full timeout. While open, one probe at a time tests the dependency in
 * the background every `cooldown`; the first that succeeds closes it.
 *
 * @example
 * const breaker = new DependencyBreaker({ failures: 3, cooldown: 5_000, probe: () => redis.ping() });
 * if (!breaker.allows()) throw new Unavailable('circuit open');
 * try { const r = await withTimeout(call()); breaker.succeeded(); return r; }
 * catch (err) { if (isTimeout(err)) breaker.timedOut(); throw err; }
 */
export class DependencyBreaker {
  readonly #opts: DependencyBreakerOptions;
  #timeouts = 0;
  #open = false;
  #timer: NodeJS.Timeout | undefined;
  #closed = false;
  /** Probes sent so far (each is one call to the dependency). */
  probes = 0;

  constructor(opts: DependencyBreakerOptions) {
    this.#opts = opts;
  }

  get open(): boolean {
    return this.#open;
  }

  /** Whether a call may go to the dependency now. */
  allows(): boolean {
    return !this.#open;
  }

  /** A call was answered: the count of timeouts starts over. */
  succeeded(): void {
    this.#timeouts = 0;
  }

  /** A call timed out. */
  timedOut(): void {
    if (this.#open || ++this.#timeouts < this.#opts.failures) return;
    this.#open = true;
    this.#opts.onChange?.(true);
    this.#schedule();
  }

  /** Ends the background probes (the owner is closing). */
  close(): void {
    this.#closed = true;
    clearTimeout(this.#timer);
  }

  #schedule(): void {
    if (this.#closed) return;
    this.#timer = setTimeout(() => void this.#probe(), this.#opts.cooldown);
    this.#timer.unref();
  }

  async #probe(): Promise<void> {
    this.probes++;
    try {
      await this.#opts.probe();
    } catch {
      this.#schedule();
      return;
    }
    if (this.#closed) return;
    this.#open = false;
    this.#timeouts = 0;
    this.#opts.onChange?.(false);
  }
}
