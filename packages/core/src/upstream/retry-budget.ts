/** Retries allowed in every window even when traffic is light (one a second). */
const MIN_PER_WINDOW = 10;
const WINDOW_MS = 10_000;

/**
 * Caps retries at a share of recent requests (plus a small floor), so that during an outage
 * retries cannot multiply the load on what is left. A sliding window made of two fixed ones:
 * the previous window counts in proportion to how much of it still overlaps the last 10s.
 *
 * @example
 * const budget = new RetryBudget(0.2);
 * budget.request();                // for every first attempt
 * if (budget.tryRetry()) retry();  // a retry spends from the budget
 */
export class RetryBudget {
  #start: number;
  #requests = 0;
  #retries = 0;
  #previousRequests = 0;
  #previousRetries = 0;

  constructor(
    readonly ratio: number,
    private readonly now: () => number = Date.now,
  ) {
    this.#start = now();
  }

  /** Counts one incoming request (not a retry). */
  request(): void {
    this.#roll(this.now());
    this.#requests++;
  }

  /** Spends one retry if the budget allows it. */
  tryRetry(): boolean {
    const now = this.now();
    this.#roll(now);
    const overlap = 1 - (now - this.#start) / WINDOW_MS;
    const requests = this.#requests + this.#previousRequests * overlap;
    const retries = this.#retries + this.#previousRetries * overlap;
    if (retries + 1 > MIN_PER_WINDOW + this.ratio * requests) return false;
    this.#retries++;
    return true;
  }

  #roll(now: number): void {
    const elapsed = now - this.#start;
    if (elapsed < WINDOW_MS) return;
    const adjacent = elapsed < 2 * WINDOW_MS;
    this.#previousRequests = adjacent ? this.#requests : 0;
    this.#previousRetries = adjacent ? this.#retries : 0;
    this.#requests = 0;
    this.#retries = 0;
    this.#start = now - (elapsed % WINDOW_MS);
  }
}
