import { describe, expect, it } from 'vitest';
import { RetryBudget } from './retry-budget.js';

function spend(budget: RetryBudget, max = 1_000): number {
  let n = 0;
  while (n < max && budget.tryRetry()) n++;
  return n;
}

describe('RetryBudget', () => {
  it('allows a floor of 10 retries per window with no traffic at all', () => {
    const now = 0;
    expect(spend(new RetryBudget(0.2, () => now))).toBe(10);
  });

  it('allows the floor plus the ratio of recent requests', () => {
    const now = 0;
    const budget = new RetryBudget(0.2, () => now);
    for (let i = 0; i < 100; i++) budget.request();
    expect(spend(budget)).toBe(30);
    budget.request();
    budget.request();
    budget.request();
    budget.request();
    budget.request();
    expect(spend(budget)).toBe(1);
  });

  it('forgets old traffic gradually: half of the last window counts halfway through the next', () => {
    let now = 0;
    const budget = new RetryBudget(0.5, () => now);
    for (let i = 0; i < 100; i++) budget.request();
    expect(spend(budget)).toBe(60);
    now = 15_000; // halfway into the next window: 50 requests and 30 retries still count
    expect(spend(budget)).toBe(5); // 10 + 0.5 * 50 allowed, 30 spent
    now = 40_000; // two windows later nothing is remembered
    expect(spend(budget)).toBe(10);
  });

  it('allows only the floor when the ratio is 0', () => {
    const now = 0;
    const budget = new RetryBudget(0, () => now);
    for (let i = 0; i < 1_000; i++) budget.request();
    expect(spend(budget)).toBe(10);
  });
});
