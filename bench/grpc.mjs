// gRPC unary through the gateway against the same server direct: h2load (nghttp2-client) posts one
// framed 64-byte message per call over h2c, each side in its own process; rounds interleaved, medians.
//
//   node bench/grpc.mjs                  3 rounds x 10 s each way
//   BENCH_ROUNDS=1 BENCH_SECONDS=5       quicker
import { execFile, spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { freePort, has } from './lib.mjs';

const here = fileURLToPath(new URL('.', import.meta.url));
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 10);
const CLIENTS = Number(process.env.BENCH_CONNECTIONS ?? 8);
const STREAMS = Number(process.env.BENCH_STREAMS ?? 16);
const run = promisify(execFile);

if (!has('h2load')) {
  console.error('h2load is missing: apt-get install -y nghttp2-client');
  process.exit(1);
}
const TASKSET = has('taskset') && cpus().length > 1;
const LAST = String(cpus().length - 1);
const OTHERS = cpus().length > 1 ? `0-${cpus().length - 2}` : '0';

function start(script, env, cpu) {
  const args = [join(here, 'servers', script)];
  const child = TASKSET
    ? spawn('taskset', ['-c', cpu, process.execPath, ...args], {
        env: { ...process.env, ...env },
        stdio: ['ignore', 'ignore', 'pipe'],
      })
    : spawn(process.execPath, args, { env: { ...process.env, ...env }, stdio: ['ignore', 'ignore', 'pipe'] });
  return new Promise((resolve, reject) => {
    let err = '';
    child.stderr.on('data', (d) => {
      err += d;
      if (err.includes('ready')) resolve(child);
    });
    child.once('exit', (code) => reject(new Error(`${script} exited (${code}): ${err}`)));
  });
}

async function stop(child) {
  child.removeAllListeners('exit');
  const exited = new Promise((r) => child.once('exit', r));
  child.kill('SIGTERM');
  await exited;
}

// One call's body: a gRPC frame (flags 0, length 64) around 64 bytes.
const body = join(tmpdir(), `lucid-grpc-bench-${process.pid}.bin`);
const message = Buffer.alloc(64, 7);
const frame = Buffer.alloc(5);
frame.writeUInt32BE(message.length, 1);
writeFileSync(body, Buffer.concat([frame, message]));

async function load(port) {
  const args = [
    '-D',
    String(SECONDS),
    '-c',
    String(CLIENTS),
    '-m',
    String(STREAMS),
    '-d',
    body,
    '-H',
    'content-type: application/grpc',
    '-H',
    'te: trailers',
    `http://127.0.0.1:${port}/bench.Echo/Unary`,
  ];
  const cmd = TASKSET ? ['taskset', ['-c', OTHERS, 'h2load', ...args]] : ['h2load', args];
  const { stdout } = await run(cmd[0], cmd[1], { maxBuffer: 16 * 1024 * 1024 });
  const rps = Number(/finished in [^,]+, ([\d.]+) req\/s/.exec(stdout)?.[1]);
  const ok = Number(/status codes: (\d+) 2xx/.exec(stdout)?.[1]);
  const failed = Number(/(\d+) failed/.exec(stdout)?.[1] ?? 0);
  const mean = /time for request:\s+\S+\s+\S+\s+(\S+)/.exec(stdout)?.[1];
  return { rps, ok, failed, mean };
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

const upstreamPort = await freePort();
const gatewayPort = await freePort();
const upstream = await start('grpc-upstream.mjs', { PORT: String(upstreamPort) }, OTHERS);
const gateway = await start(
  'lucid-grpc.mjs',
  { PORT: String(gatewayPort), UPSTREAM_PORT: String(upstreamPort) },
  LAST,
);
const results = { direct: [], gateway: [] };
try {
  for (let round = 0; round < ROUNDS; round++) {
    for (const [name, port] of [
      ['direct', upstreamPort],
      ['gateway', gatewayPort],
    ]) {
      const r = await load(port);
      results[name].push(r);
      console.log(
        `round ${round + 1} ${name}: ${r.rps.toFixed(0)} calls/s, ${r.ok} ok, ${r.failed} failed, mean ${r.mean}`,
      );
    }
  }
} finally {
  await stop(gateway);
  await stop(upstream);
}
const direct = median(results.direct.map((r) => r.rps));
const through = median(results.gateway.map((r) => r.rps));
console.log(
  `\ngRPC unary, ${CLIENTS} connections x ${STREAMS} streams, ${SECONDS}s x ${ROUNDS} rounds (medians)`,
);
console.log(`direct:  ${direct.toFixed(0)} calls/s`);
console.log(`gateway: ${through.toFixed(0)} calls/s (${((through / direct) * 100).toFixed(0)}% of direct)`);
