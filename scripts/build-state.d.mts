export const REPO_DIR: string;
/** Names of the workspace packages whose build is missing or older than their sources. */
export function stalePackages(): string[];
/** Builds the stale packages and their dependents; false when the build failed. */
export function buildIfStale(options?: { quiet?: boolean }): boolean;
