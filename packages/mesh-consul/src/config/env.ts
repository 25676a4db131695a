/** `CONSUL_HTTP_ADDR` as the Consul CLI reads it: `host:port` or a URL; `CONSUL_HTTP_SSL=true` means https. */
export function consulAddressFromEnv(env: NodeJS.ProcessEnv = process.env): string {
  const addr = env.CONSUL_HTTP_ADDR?.trim();
  if (!addr) return 'http://127.0.0.1:8500';
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(addr)) return addr;
  const ssl = /^(1|true)$/i.test(env.CONSUL_HTTP_SSL ?? '');
  return `${ssl ? 'https' : 'http'}://${addr}`;
}

/** An http(s) origin without a trailing slash, or undefined when it is not one. */
export function normalizeConsulUrl(input: string): string | undefined {
  const withScheme = /^[a-z][a-z0-9+.-]*:\/\//i.test(input) ? input : `http://${input}`;
  try {
    const url = new URL(withScheme);
    if (
      (url.protocol !== 'http:' && url.protocol !== 'https:') ||
      !url.hostname ||
      url.username ||
      url.hash
    ) {
      return undefined;
    }
    if (url.pathname !== '/' || url.search) return undefined;
    return url.origin;
  } catch {
    return undefined;
  }
}

/** TLS material for the agent from the Consul CLI's variables, when the config gives none. */
export function consulTlsFromEnv(
  env: NodeJS.ProcessEnv = process.env,
): { ca?: string; cert?: string; key?: string } | undefined {
  const ca = env.CONSUL_CACERT || undefined;
  const cert = env.CONSUL_CLIENT_CERT || undefined;
  const key = env.CONSUL_CLIENT_KEY || undefined;
  if (!ca && !cert && !key) return undefined;
  return { ca, cert, key };
}
