// The built CLI as users run it (`lucid-gateway start`), ready when /health/ready answers 200.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const CLI_BIN = fileURLToPath(new URL('../packages/cli/dist/bin.js', import.meta.url));

/**
 * `lucid-cli`: a config file with one plain route to the bench upstream, access log and metrics on
 * (their defaults). `lucid-cli-default`: the embedded default config (no file in its folder), measured
 * for start time and idle memory only: its routes point at the Lucid services and rate-limit at 100/min.
 */
export function cliContenders(upstreamUrl) {
  const dir = mkdtempSync(join(tmpdir(), 'lucid-bench-cli-'));
  const config = join(dir, 'bench.config.json');
  writeFileSync(
    config,
    JSON.stringify({
      server: { host: '127.0.0.1' },
      logging: { level: 'info', pretty: false, accessLog: true },
      services: { api: { targets: [upstreamUrl] } },
      routes: [{ prefix: '/api', service: 'api', auth: 'public' }],
    }),
  );
  const empty = mkdtempSync(join(tmpdir(), 'lucid-bench-cli-default-'));
  return [
    { name: 'lucid-cli', cmd: process.execPath, args: [CLI_BIN, 'start', '--config', config], cli: true },
    {
      name: 'lucid-cli-default',
      cmd: process.execPath,
      args: [CLI_BIN, 'start', '--host', '127.0.0.1'],
      cwd: empty,
      cli: true,
      idleOnly: true,
    },
  ];
}
