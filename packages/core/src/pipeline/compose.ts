import type { GatewayContext, Middleware } from '../types.js';

export type Handler = (ctx: GatewayContext) => Promise<void>;

/** Folds middleware around a terminal handler once, at build time; per request only the calls remain. */
export function compose(middleware: readonly Middleware[], terminal: Handler): Handler {
  let run = terminal;
  for (let i = middleware.length - 1; i >= 0; i--) {
    const mw = middleware[i]!;
    const next = run;
    run = (ctx) => mw(ctx, () => next(ctx));
  }
  return run;
}
