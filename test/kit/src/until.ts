import { setTimeout as delay } from 'node:timers/promises';

/**
 * Asks `read` again until `done` says yes (for work the gateway does in the background, such as
 * fetching documents); fails after `tries`. It waits on the answer, never on a guessed time.
 */
export async function until<T>(read: () => Promise<T>, done: (value: T) => boolean, tries = 200): Promise<T> {
  let last: T | undefined;
  for (let i = 0; i < tries; i++) {
    last = await read();
    if (done(last)) return last;
    await delay(25);
  }
  throw new Error(`condition not met; last value: ${JSON.stringify(last)?.slice(0, 2000)}`);
}
