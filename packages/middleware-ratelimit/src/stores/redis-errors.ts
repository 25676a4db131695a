/** What a socket error code means, in the words an operator would use. */
const CONNECTION_CODES: Record<string, string> = {
  ECONNREFUSED: 'connection refused',
  ENOTFOUND: 'host not found',
  EAI_AGAIN: 'host name lookup failed',
  ETIMEDOUT: 'connection timed out',
  ECONNRESET: 'connection reset',
  EHOSTUNREACH: 'host unreachable',
  ENETUNREACH: 'network unreachable',
  EPIPE: 'connection closed',
};

/**
 * Says why Redis failed in plain words for /health and warnings ("Redis unreachable (connection
 * refused)"), instead of ioredis's own phrases ("Stream isn't writeable and enableOfflineQueue
 * options is false"). `lastConnectionError` is the client's latest socket error: a command refused
 * while disconnected tells nothing of why, the connection's own error does. No address is named.
 */
export function describeRedisError(err: unknown, lastConnectionError?: unknown): string {
  const e = err as { code?: string; message?: string } | undefined;
  const message = String(e?.message ?? err ?? '');
  const reason = (c: unknown) => CONNECTION_CODES[String((c as { code?: string } | undefined)?.code)];
  if (reason(err)) return `Redis unreachable (${reason(err)})`;
  if (/^(NOAUTH|WRONGPASS)/.test(message)) return 'Redis refused the credentials (check the URL or password)';
  if (/Command timed out/i.test(message)) return 'Redis did not answer in time (command timeout)';
  if (/connect ETIMEDOUT|Connection is closed|enableOfflineQueue|not connected/i.test(message)) {
    const why = reason(lastConnectionError);
    return why ? `Redis unreachable (${why})` : 'Redis not connected (reconnecting)';
  }
  if (/^(LOADING|MASTERDOWN|CLUSTERDOWN|READONLY)/.test(message))
    return `Redis not ready (${message.split(' ')[0]})`;
  return `Redis failed: ${message.split('\n')[0]}`;
}
