import { GatewayError } from '../errors.js';
import type { GatewayContext, Middleware } from '../types.js';

export interface AdmissionOptions {
  /** Requests in flight per target (`services.X.maxConnections`). */
  perTarget: number;
  /** Requests that may wait for a free place, and for how long (`services.X.queue`). */
  queueSize: number;
  queueTimeout: number;
  /** How many targets the service has now (discovery may change it). */
  targets: () => number;
}

/** The gate, and a way to tell it that capacity may have grown (a target came back into rotation). */
export type Admission = Middleware & { wake(): void };

interface Waiter {
  admit: () => void;
  timer: NodeJS.Timeout;
}

/**
 * Caps the requests in flight to a service's targets at `maxConnections` each (the service holds
 * `maxConnections × targets` places; least-request balancing spreads them one target at a time),
 * with a bounded FIFO wait: a full queue or a wait past `queue.timeout` answers 503 with
 * Retry-After at once, so a slow upstream never turns into an unbounded queue in the gateway.
 *
 * @example
 * compose([...chain, admission({ perTarget: 64, queueSize: 100, queueTimeout: 5_000, targets })], proxy)
 */
export function admission(opts: AdmissionOptions): Admission {
  let inFlight = 0;
  const queue: Waiter[] = [];
  const retryAfter = String(Math.max(1, Math.ceil(opts.queueTimeout / 1000)));
  const full = (detail: string) =>
    new GatewayError('GW_UPSTREAM_UNAVAILABLE', { detail, headers: { 'retry-after': retryAfter } });
  const capacity = () => opts.perTarget * Math.max(1, opts.targets());

  // Lets waiters in while there is room; room also grows when a target comes back into rotation,
  // so a queued request does not wait for one in flight to finish when a target just became free.
  const drain = () => {
    while (queue.length > 0 && inFlight < capacity()) {
      const next = queue.shift()!;
      clearTimeout(next.timer);
      inFlight++;
      next.admit();
    }
  };
  const leave = () => {
    inFlight--;
    drain();
  };

  const enter = (ctx: GatewayContext): Promise<void> => {
    if (inFlight < capacity() && queue.length === 0) {
      inFlight++;
      return Promise.resolve();
    }
    if (queue.length >= opts.queueSize) return Promise.reject(full('the service is at its connection limit'));
    return new Promise<void>((resolve, reject) => {
      const waiter: Waiter = {
        admit: () => {
          ctx.res.off('close', onGone);
          resolve();
        },
        timer: setTimeout(() => {
          drop();
          reject(full('no upstream connection became free in time'));
        }, opts.queueTimeout),
      };
      const drop = () => {
        const i = queue.indexOf(waiter);
        if (i !== -1) queue.splice(i, 1);
        clearTimeout(waiter.timer);
        ctx.res.off('close', onGone);
      };
      // A client that left gives up its place in the queue.
      const onGone = () => {
        drop();
        reject(full('the client left while waiting'));
      };
      ctx.res.once('close', onGone);
      queue.push(waiter);
    });
  };

  const gate = async function admission(ctx: GatewayContext, next: () => Promise<void>): Promise<void> {
    await enter(ctx);
    try {
      await next();
    } finally {
      leave();
    }
  };
  return Object.assign(gate, { wake: drain });
}
