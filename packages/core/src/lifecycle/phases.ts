import type { GatewayPlugin } from '../plugin.js';
import type { Gateway } from '../types.js';

type Warn = (err: unknown, fields: Record<string, unknown>, msg: string) => void;

/**
 * The plugins' lifecycle, one phase at a time, in the order every stop keeps (`gateway.close()`,
 * SIGTERM, SIGINT):
 *
 * 1. `start(gateway)`: each plugin in turn; the gateway is ready once every one resolved.
 * 2. `leave()`: reverse order, before the drain: leave discovery (deregister), so no new traffic is sent here.
 * 3. (the gateway stops accepting and drains its in-flight requests: every plugin still works)
 * 4. `close()`: reverse order, after the drain: release stores, key sets, timers.
 *
 * A plugin's `stop()` (the hook before phases existed) runs where `close()` runs.
 */
export class PluginPhases {
  readonly #plugins: readonly GatewayPlugin[];
  readonly #warn: Warn;
  /** Plugins whose start() has not resolved yet: what readiness waits on. */
  readonly #starting = new Set<string>();
  #left: Promise<void> | undefined;
  #closed: Promise<void> | undefined;

  constructor(plugins: readonly GatewayPlugin[], warn: Warn) {
    this.#plugins = plugins;
    this.#warn = warn;
  }

  /** The names of the plugins still starting (for /health/ready's answer). */
  starting(): string[] {
    return [...this.#starting];
  }

  /** Starts every plugin, in order; rejects with the first failure (the gateway does not start). */
  async start(gateway: Gateway): Promise<void> {
    const pending = this.#plugins.filter((p) => p.start);
    for (const p of pending) this.#starting.add(p.name);
    try {
      for (const plugin of pending) {
        await plugin.start!(gateway);
        this.#starting.delete(plugin.name);
      }
    } finally {
      this.#starting.clear();
    }
  }

  /** Phase 2: every plugin leaves what sends traffic here. Never rejects; runs once. */
  leave(): Promise<void> {
    this.#left ??= this.#each('leave', (p) => p.leave?.());
    return this.#left;
  }

  /** Phase 4: every plugin releases its resources. Never rejects; runs once. */
  close(): Promise<void> {
    this.#closed ??= this.#each('close', (p) => (p.close ? p.close() : p.stop?.()));
    return this.#closed;
  }

  async #each(phase: string, run: (p: GatewayPlugin) => Promise<void> | undefined): Promise<void> {
    for (const plugin of [...this.#plugins].reverse()) {
      try {
        await run(plugin);
      } catch (err) {
        this.#warn(err, { plugin: plugin.name, phase }, `plugin ${phase} failed`);
      }
    }
  }
}
