/**
 * `promise`, or `onTimeout()` as a rejection when it has not settled `ms` after the call.
 *
 * A timer callback runs before the loop reads sockets, so on a busy process a reply already in the
 * socket buffer would lose to a timer that fired late. The rejection therefore waits for one more
 * I/O poll (`setImmediate` runs after it): a reply that has arrived always wins; only a server
 * that has really not answered times out.
 */
export function withDeadline<T>(promise: Promise<T>, ms: number, onTimeout: () => Error): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    let settled = false;
    const timer = setTimeout(() => {
      setImmediate(() => {
        if (settled) return;
        settled = true;
        reject(onTimeout());
      });
    }, ms);
    promise.then(
      (value) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        resolve(value);
      },
      (err: unknown) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        reject(err);
      },
    );
  });
}
