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
 * BENCH_CLI_NODE_FLAGS runs both with `node FLAGS bin.js` instead (the shebang's flags then do not apply).
 */
export function cliContenders(upstreamUrl) {
  // Node/V8 flags for the CLI rows only (e.g. "--max-semi-space-size=2"), to measure a tuning.
  const flags = process.env.BENCH_CLI_NODE_FLAGS?.split(' ').filter(Boolean) ?? [];
  // Without flags the bin runs as a command, as users run it: its shebang's flags apply.
  const [cmd, pre] = flags.length ? [process.execPath, [...flags, CLI_BIN]] : [CLI_BIN, []];
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
    { name: 'lucid-cli', cmd, args: [...pre, 'start', '--config', config], cli: true },
    {
      name: 'lucid-cli-default',
      cmd,
      args: [...pre, 'start', '--host', '127.0.0.1'],
      cwd: empty,
      cli: true,
      idleOnly: true,
    },
  ];
}
