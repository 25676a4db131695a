import type { GatewayObserver } from './plugin.js';

type Events = { [K in keyof GatewayObserver]-?: Parameters<NonNullable<GatewayObserver[K]>> };

/**
 * The gateway's observers (packages built over its view) and how each event reaches them: in the
 * order they came, and an observer that throws is logged and does not stop the others.
 */
export class Observers {
  readonly #list = new Set<GatewayObserver>();

  constructor(private readonly onError: (err: unknown, event: string) => void) {}

  add(observer: GatewayObserver): () => void {
    this.#list.add(observer);
    return () => this.#list.delete(observer);
  }

  emit<K extends keyof Events>(event: K, ...args: Events[K]): void {
    for (const observer of this.#list) {
      const listener = observer[event] as ((...a: Events[K]) => void) | undefined;
      if (!listener) continue;
      try {
        listener.apply(observer, args);
      } catch (err) {
        this.onError(err, event);
      }
    }
  }
}
