import type { Middleware, RoutedContext } from '../types.js';

export type Handler = (ctx: RoutedContext) => Promise<void>;

/**
 * Folds middleware around a terminal handler once, at build time; per request only the calls remain.
 * A middleware that calls `next()` twice would send the request upstream twice: the second call throws.
 */
export function compose(middleware: readonly Middleware[], terminal: Handler): Handler {
  let run = terminal;
  for (let i = middleware.length - 1; i >= 0; i--) {
    const mw = middleware[i]!;
    const next = run;
    const name = mw.name || `middleware #${i}`;
    run = (ctx) => {
      let called = false;
      return mw(ctx, () => {
        if (called) return Promise.reject(new Error(`${name} called next() more than once`));
        called = true;
        return next(ctx);
      });
    };
  }
  return run;
}
