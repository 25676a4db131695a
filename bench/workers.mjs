// --workers scaling: the CLI with 1..N worker processes on one port, loaded by wrk, same upstream.
// On a machine with few cores, wrk and the upstream share them with the workers: the numbers show
// what one host gives, not a per-core ideal.
//   node bench/workers.mjs [maxWorkers]   (after pnpm build)
import { execFileSync, spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort } from './lib.mjs';

const here = fileURLToPath(new URL('.', import.meta.url));
const cli = fileURLToPath(new URL('../packages/cli/dist/bin.js', import.meta.url));
const max = Number(process.argv[2] ?? Math.max(2, availableParallelism()));
const SECONDS = Number(process.env.BENCH_SECONDS ?? 8);

async function waitReady(child, count) {
  let seen = 0;
  let buf = '';
  for await (const chunk of child.stdout) {
    buf += chunk;
    let nl = buf.indexOf('\n');
    while (nl !== -1) {
      if (buf.slice(0, nl).includes('"gateway listening"') && ++seen === count) return;
      buf = buf.slice(nl + 1);
      nl = buf.indexOf('\n');
    }
  }
  throw new Error('the CLI exited before listening');
}

const upPort = await freePort();
const upstream = spawn(process.execPath, [join(here, 'servers/upstream.mjs')], {
  env: { ...process.env, PORT: String(upPort) },
  stdio: ['ignore', 'ignore', 'pipe'],
});
await new Promise((r) => upstream.stderr.once('data', r));

const dir = mkdtempSync(join(tmpdir(), 'lucid-workers-'));
const rows = [];
for (let workers = 1; workers <= max; workers++) {
  const port = await freePort();
  const config = join(dir, 'gw.yaml');
  writeFileSync(
    config,
    `server: { host: 127.0.0.1, port: ${port} }
logging: { level: info, pretty: false }
services: { api: { targets: ["http://127.0.0.1:${upPort}"] } }
routes: [{ prefix: /api, service: api, auth: public }]
`,
  );
  const gw = spawn(process.execPath, [cli, 'start', '--config', config, '--workers', String(workers)], {
    stdio: ['ignore', 'pipe', 'ignore'],
  });
  await waitReady(gw, workers);
  gw.stdout.resume();
  execFileSync('wrk', ['-t2', '-c128', '-d2s', `http://127.0.0.1:${port}/api/x`]);
  const out = execFileSync('wrk', ['-t2', '-c128', `-d${SECONDS}s`, `http://127.0.0.1:${port}/api/x`], {
    encoding: 'utf8',
  });
  const rps = Number(/Requests\/sec:\s+([\d.]+)/.exec(out)?.[1]);
  rows.push({ workers, rps });
  console.error(`workers ${workers}: ${rps.toFixed(0)} req/s`);
  const exited = once(gw, 'exit');
  gw.kill('SIGTERM');
  await exited;
}
upstream.kill();
const base = rows[0].rps;
console.log(
  `| workers | req/s | vs 1 |\n|---:|---:|---:|\n${rows.map((r) => `| ${r.workers} | ${r.rps.toFixed(0)} | ${(r.rps / base).toFixed(2)}x |`).join('\n')}`,
);
