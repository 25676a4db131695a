import { AUTHENTICATION } from '@lucid/gateway-core';

/**
 * Who may see the dashboard when its config does not say: where a plugin provides authentication,
 * a token with the `admin` scope; with no authentication configured, anyone who reaches the path.
 *
 * @example dashboardAccess({}, new Set(['authentication'])) // { auth: 'required', scopes: ['admin'] }
 */
export function dashboardAccess(
  spec: { auth?: 'public' | 'required'; scopes?: string[] },
  provides: ReadonlySet<string>,
): { auth: 'public' | 'required'; scopes: string[] } {
  const authenticates = provides.has(AUTHENTICATION);
  const auth = spec.auth ?? (authenticates ? 'required' : 'public');
  const scopes = spec.scopes ?? (auth === 'required' && authenticates ? ['admin'] : []);
  return { auth, scopes };
}
