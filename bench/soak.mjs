// The soak: the built CLI (access log and metrics on) under steady load for BENCH_SOAK_MINUTES,
// its RSS sampled every BENCH_SOAK_INTERVAL_S seconds. Memory must be flat after warm-up, so the
// verdict is a slope (least squares over the samples after BENCH_SOAK_WARMUP_S), not a snapshot.
//
//   pnpm bench:soak                                   10 minutes, a sample every 10 s
//   BENCH_SOAK_MINUTES=1 BENCH_SOAK_INTERVAL_S=5      a short look
//   BENCH_SOAK_MINUTES=0                              none (pnpm bench runs the soak after its table)
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { cliContenders } from './cli-contenders.mjs';
import { cpuSeconds, freePort, has, memoryOf, slope, waitForReady } from './lib.mjs';

const here = fileURLToPath(new URL('.', import.meta.url));
const MINUTES = Number(process.env.BENCH_SOAK_MINUTES ?? 10);
if (MINUTES === 0) {
  console.log('soak skipped (BENCH_SOAK_MINUTES=0)');
  process.exit(0);
}
const INTERVAL_S = Number(process.env.BENCH_SOAK_INTERVAL_S ?? 10);
// Warm-up: JIT, pools and V8's heap sizing settle; at most a third of the run.
const WARMUP_S = Math.min(Number(process.env.BENCH_SOAK_WARMUP_S ?? 60), (MINUTES * 60) / 3);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 64);
if (!(MINUTES > 0) || !(INTERVAL_S > 0))
  throw new Error('BENCH_SOAK_MINUTES and BENCH_SOAK_INTERVAL_S must be > 0');

const TASKSET = has('taskset') && cpus().length > 1;
const PROXY_CPU = String(cpus().length - 1);
const OTHER_CPUS = cpus().length > 1 ? `0-${cpus().length - 2}` : '0';
const pinned = (cpu, cmd, args) => (TASKSET ? ['taskset', ['-c', cpu, cmd, ...args]] : [cmd, args]);

const children = [];
function start(cpu, cmd, args, env = {}) {
  const [c, a] = pinned(cpu, cmd, args);
  const child = spawn(c, a, { env: { ...process.env, ...env }, stdio: ['ignore', 'ignore', 'pipe'] });
  child.stderr.resume();
  children.push(child);
  return child;
}
async function stop(child) {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = once(child, 'exit');
  child.kill('SIGTERM');
  await exited;
}

async function main() {
  const upPort = await freePort();
  const upstream = start(OTHER_CPUS, process.execPath, [join(here, 'servers/upstream.mjs')], {
    PORT: upPort,
  });
  await new Promise((r) => upstream.stderr.on('data', (d) => String(d).includes('ready') && r()));

  const port = await freePort();
  const cli = cliContenders(`http://127.0.0.1:${upPort}`).find((c) => c.name === 'lucid-cli');
  const gateway = start(PROXY_CPU, cli.cmd, cli.args, { PORT: port });
  await waitForReady(`http://127.0.0.1:${port}/health/ready`, gateway);

  const seconds = Math.ceil(MINUTES * 60);
  const url = `http://127.0.0.1:${port}/api/bench`;
  const loader = has('wrk')
    ? start(OTHER_CPUS, 'wrk', ['-t1', `-c${CONNECTIONS}`, `-d${seconds}s`, url])
    : start(OTHER_CPUS, process.execPath, [
        join(here, 'node_modules/autocannon/autocannon.js'),
        '-c',
        String(CONNECTIONS),
        '-d',
        String(seconds),
        url,
      ]);

  const t0 = performance.now();
  const cpu0 = cpuSeconds(gateway.pid);
  const series = [];
  const sample = () => {
    const t = (performance.now() - t0) / 1000;
    const { rss } = memoryOf(gateway.pid);
    if (rss === undefined) return;
    series.push({ t: Math.round(t), rss: Number(rss.toFixed(1)) });
    console.error(`${String(Math.round(t)).padStart(5)} s  ${rss.toFixed(1).padStart(6)} MB`);
  };
  sample();
  const timer = setInterval(sample, INTERVAL_S * 1000);
  await Promise.race([once(loader, 'exit'), once(gateway, 'exit')]);
  clearInterval(timer);
  sample();
  const cpu = cpuSeconds(gateway.pid) - cpu0;
  const { peak } = memoryOf(gateway.pid);
  const crashed = gateway.exitCode !== null || gateway.signalCode !== null;
  for (const child of children.reverse()) await stop(child);
  if (crashed) throw new Error('the gateway exited during the soak');

  const after = series.filter((s) => s.t >= WARMUP_S);
  const mbPerMinute = slope(after.map((s) => [s.t / 60, s.rss]));
  const result = {
    date: new Date().toISOString(),
    machine: `${cpus()[0]?.model ?? 'unknown CPU'}, ${cpus().length} cores, Node ${process.version}`,
    minutes: MINUTES,
    intervalSeconds: INTERVAL_S,
    warmupSeconds: WARMUP_S,
    connections: CONNECTIONS,
    gatewayCpuSeconds: Number(cpu.toFixed(1)),
    peakRss: peak,
    slopeMbPerMinute: mbPerMinute === undefined ? undefined : Number(mbPerMinute.toFixed(3)),
    series,
  };
  console.log(
    `soak ${MINUTES} min, ${CONNECTIONS} connections: RSS ${series[0].rss} -> ${series.at(-1).rss} MB, peak ${peak?.toFixed(0)} MB, slope after ${WARMUP_S} s warm-up ${mbPerMinute?.toFixed(2) ?? '-'} MB/min\n` +
      `series (s, MB): ${series.map((s) => `${s.t}:${s.rss}`).join(' ')}`,
  );
  mkdirSync(join(here, 'results'), { recursive: true });
  writeFileSync(join(here, 'results', 'soak.json'), `${JSON.stringify(result, null, 2)}\n`);
}

try {
  await main();
} finally {
  for (const child of children)
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
}
