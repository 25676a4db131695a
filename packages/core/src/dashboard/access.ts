import type { UiConfig } from '../config/schema.js';

/**
 * Who may see the dashboard when its config does not say: where a plugin authenticates, a token
 * with the `admin` scope; with no authentication configured, anyone who reaches the path.
 *
 * @example dashboardAccess({ path: '/ui', refresh: 2000 }, true) // { auth: 'required', scopes: ['admin'] }
 */
export function dashboardAccess(
  spec: UiConfig,
  authenticates: boolean,
): { auth: 'public' | 'required'; scopes: string[] } {
  const auth = spec.auth ?? (authenticates ? 'required' : 'public');
  const scopes = spec.scopes ?? (auth === 'required' && authenticates ? ['admin'] : []);
  return { auth, scopes };
}
