import type { Env } from './env.js';
import { error, type Problem } from './problems.js';

export interface FlagOverrides {
  port?: number | undefined;
  host?: string | undefined;
}

export interface Overrides {
  /** What was overridden, for the first log lines: `PORT`, `--host`, ... (never values: some are secrets). */
  applied: string[];
  problems: Problem[];
}

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => v !== null && typeof v === 'object' && !Array.isArray(v);
const section = (parent: Obj, key: string): Obj => {
  const existing = parent[key];
  if (isObj(existing)) return existing;
  const created: Obj = {};
  parent[key] = created;
  return created;
};

/**
 * Applies the common environment settings and the command-line flags to a raw config, in place.
 * Flags win over the environment, which wins over the file. A setting only fills a section the
 * config already has (REDIS_URL does not turn on a Redis store, JWT_SECRET_KEY does not turn on auth).
 *
 * @example applyOverrides(raw, { PORT: '9000' }, { host: '127.0.0.1' }).applied // ['PORT', '--host']
 */
export function applyOverrides(config: Obj, env: Env, flags: FlagOverrides = {}): Overrides {
  const applied: string[] = [];
  const problems: Problem[] = [];
  const has = (name: string) => env[name] !== undefined && env[name] !== '';

  if (flags.port !== undefined) {
    section(config, 'server').port = flags.port;
    applied.push('--port');
  } else if (has('PORT')) {
    const port = Number(env.PORT);
    if (Number.isInteger(port) && port >= 0 && port <= 65_535) {
      section(config, 'server').port = port;
      applied.push('PORT');
    } else {
      problems.push(error('server.port', `PORT="${env.PORT}" is not a port number`, 'set PORT to 0-65535'));
    }
  }
  if (flags.host !== undefined) {
    section(config, 'server').host = flags.host;
    applied.push('--host');
  }
  if (has('LOG_LEVEL')) {
    section(config, 'logging').level = env.LOG_LEVEL!.toLowerCase();
    applied.push('LOG_LEVEL');
  }

  const jwt = isObj(config.auth) && isObj(config.auth.jwt) ? config.auth.jwt : undefined;
  if (has('JWT_SECRET_KEY') && jwt && jwt.publicKey === undefined && jwt.jwks === undefined) {
    jwt.secret = env.JWT_SECRET_KEY;
    applied.push('JWT_SECRET_KEY');
  }
  if (has('REDIS_URL') && isObj(config.rateLimit) && config.rateLimit.store === 'redis') {
    section(config.rateLimit, 'redis').url = env.REDIS_URL;
    applied.push('REDIS_URL');
  }
  if (has('CONSUL_HTTP_ADDR') && isObj(config.mesh) && isObj(config.mesh.consul)) {
    const addr = env.CONSUL_HTTP_ADDR!;
    // Consul's own tools accept a bare host:port here.
    config.mesh.consul.url = /^https?:\/\//.test(addr) ? addr : `http://${addr}`;
    applied.push('CONSUL_HTTP_ADDR');
  }
  return { applied, problems };
}
