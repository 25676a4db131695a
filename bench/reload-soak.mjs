// The reload soak: the built CLI under constant load while its config is reloaded (SIGHUP) again
// and again, alternating two configs (one service's health settings and a route differ). Reports
// failed requests (target 0), and the gateway's RSS and open descriptors at start and end.
//
//   node bench/reload-soak.mjs                        200 reloads, 16 clients
//   BENCH_RELOADS=50 BENCH_CONNECTIONS=8              a short look
import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { Agent, createServer, request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort, memoryOf, waitForReady } from './lib.mjs';

const RELOADS = Number(process.env.BENCH_RELOADS ?? 200);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 16);
const bin = fileURLToPath(new URL('../packages/cli/dist/bin.js', import.meta.url));

const upstream = createServer((_req, res) => res.end('ok'));
await new Promise((resolve) => upstream.listen(0, '127.0.0.1', resolve));
const target = `http://127.0.0.1:${upstream.address().port}`;
const port = await freePort();
const dir = mkdtempSync(join(tmpdir(), 'lucid-reload-soak-'));
const file = join(dir, 'gateway.yaml');
const config = (variant) => `
server: { host: 127.0.0.1, port: ${port} }
logging: { level: info, pretty: false, accessLog: false }
services:
  api: { targets: ["${target}"], health: { path: /, interval: 1s }, maxConnections: 64 }
  other: { targets: ["${target}"], health: { path: /, interval: ${variant ? '2s' : '3s'} } }
routes:
  - { prefix: /api, service: api, auth: public }
  - { prefix: ${variant ? '/other' : '/else'}, service: other, auth: public }
`;
writeFileSync(file, config(0));

const child = spawn(process.execPath, [bin, 'start', '--config', file], {
  stdio: ['ignore', 'pipe', 'inherit'],
});
let reloaded = 0;
let waiting;
let buffer = '';
child.stdout.on('data', (chunk) => {
  buffer += chunk;
  let nl = buffer.indexOf('\n');
  while (nl !== -1) {
    const line = buffer.slice(0, nl);
    buffer = buffer.slice(nl + 1);
    if (line.includes('"config reloaded"') || line.includes('config reload refused')) {
      reloaded++;
      waiting?.();
    }
    nl = buffer.indexOf('\n');
  }
});
await waitForReady(`http://127.0.0.1:${port}/health/ready`, child);

const fds = () => readdirSync(`/proc/${child.pid}/fd`).length;
const agent = new Agent({ keepAlive: true, maxSockets: CONNECTIONS });
const get = () =>
  new Promise((resolve) => {
    request({ host: '127.0.0.1', port, path: '/api/x', agent }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode === 200));
    })
      .on('error', () => resolve(false))
      .end();
  });
let ok = 0;
let failed = 0;
let running = true;
const loops = Array.from({ length: CONNECTIONS }, async () => {
  while (running) (await get()) ? ok++ : failed++;
});

// Warm: pools and JIT settle before the first sample.
while (ok < 2_000) await new Promise((resolve) => setTimeout(resolve, 50));
const start = { rss: memoryOf(child.pid).rss, fds: fds() };
const started = performance.now();
for (let i = 1; i <= RELOADS; i++) {
  writeFileSync(file, config(i % 2));
  const done = new Promise((resolve) => (waiting = resolve));
  child.kill('SIGHUP');
  await done;
}
const seconds = (performance.now() - started) / 1000;
running = false;
await Promise.all(loops);
agent.destroy();
const end = { rss: memoryOf(child.pid).rss, fds: fds() };

child.kill('SIGTERM');
const code = await new Promise((resolve) => child.once('exit', resolve));
upstream.close();
rmSync(dir, { recursive: true, force: true });

const mb = (v) => (v === undefined ? '?' : `${v.toFixed(1)} MB`);
console.log(
  [
    `reload soak: ${reloaded} reloads in ${seconds.toFixed(1)} s under ${CONNECTIONS} clients`,
    `requests: ${ok} ok, ${failed} failed`,
    `RSS: ${mb(start.rss)} -> ${mb(end.rss)}; descriptors: ${start.fds} -> ${end.fds}`,
    `exit code after SIGTERM: ${code}`,
  ].join('\n'),
);
if (failed > 0 || code !== 0) process.exitCode = 1;
