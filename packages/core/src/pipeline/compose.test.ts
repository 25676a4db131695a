import { describe, expect, it } from 'vitest';
import type { Middleware, RoutedContext } from '../types.js';
import { compose } from './compose.js';

const ctx = {} as RoutedContext;

describe('compose', () => {
  it('runs middleware in order around the terminal handler', async () => {
    const seen: string[] = [];
    const mw =
      (name: string): Middleware =>
      async (_ctx, next) => {
        seen.push(`${name} in`);
        await next();
        seen.push(`${name} out`);
      };
    await compose([mw('a'), mw('b')], async () => {
      seen.push('terminal');
    })(ctx);
    expect(seen).toEqual(['a in', 'b in', 'terminal', 'b out', 'a out']);
  });

  it('refuses next() called twice, so a request is never sent upstream twice', async () => {
    let terminal = 0;
    const twice: Middleware = async function retryingBadly(_ctx, next) {
      await next();
      await next();
    };
    const run = compose([twice], async () => {
      terminal++;
    });
    await expect(run(ctx)).rejects.toThrow('retryingBadly called next() more than once');
    expect(terminal).toBe(1);
    // Each request gets its own guard: a second request runs through once more.
    await expect(run(ctx)).rejects.toThrow(/more than once/);
    expect(terminal).toBe(2);
  });

  it('lets a middleware answer without calling next()', async () => {
    let terminal = 0;
    const answers: Middleware = async () => {};
    await compose([answers], async () => {
      terminal++;
    })(ctx);
    expect(terminal).toBe(0);
  });
});
