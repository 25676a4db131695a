// A gateway in a process of its own, built from packages/core/dist, driven by the test over IPC:
// the test can give it a small heap (--max-old-space-size), ask for its resource use, and close it.
import { readdirSync, readlinkSync } from 'node:fs';
import { createGateway, createLogger } from '../../../packages/core/dist/index.js';

const config = JSON.parse(process.env.LUCID_TEST_CONFIG ?? '{}');
// Faults are the point here: their warnings would only bury a real error.
const logger = createLogger({ level: 'error', pretty: false, accessLog: false });
const gateway = createGateway(config, { logger });
const { port } = await gateway.listen({ port: 0, host: '127.0.0.1' });

let peakHeap = 0;
const sampler = setInterval(() => {
  peakHeap = Math.max(peakHeap, process.memoryUsage().heapUsed);
}, 20);

/** Heap after a full collection (with --expose-gc), open sockets (as file descriptors) and all descriptors. */
function stats() {
  globalThis.gc?.();
  const fds = readdirSync('/proc/self/fd');
  let sockets = 0;
  for (const fd of fds) {
    try {
      if (readlinkSync(`/proc/self/fd/${fd}`).startsWith('socket:')) sockets++;
    } catch {}
  }
  return { heapUsed: process.memoryUsage().heapUsed, peakHeap, sockets, fds: fds.length };
}

process.on('message', async (msg) => {
  if (msg.type === 'stats') process.send({ type: 'stats', ...stats() });
  if (msg.type === 'close') {
    await gateway.close({ graceMs: msg.graceMs ?? 1_000 });
    clearInterval(sampler);
    process.send({ type: 'closed', peakHeap });
    // Nothing else holds the event loop: the process ends by itself (a leak would keep it alive).
    process.disconnect();
  }
});
process.send({ type: 'listening', port });
