// What rate limiting costs: one gateway without a limiter, with the memory store, and with Redis
// (one hot key, and 10k keys spread by an API-key header), same upstream, same load, rounds interleaved.
// Limits are set far above the offered load, so every request is admitted and the store's work is measured.
//
//   node bench/ratelimit.mjs                       3 rounds x 10 s per mode (needs `pnpm build` first)
//   BENCH_ROUNDS=1 BENCH_SECONDS=5 node bench/ratelimit.mjs
import { execFileSync, spawn } from 'node:child_process';
import { once } from 'node:events';
import { writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort, has } from './lib.mjs';

const here = fileURLToPath(new URL('.', import.meta.url));

if (process.argv[2] === '--serve') {
  // Child mode: one gateway in this process.
  const { createGateway } = await import('@lucid/gateway-core');
  const mode = process.argv[3];
  const plugins = [];
  if (mode !== 'none') {
    const { rateLimit } = await import('@lucid/middleware-ratelimit');
    plugins.push(
      rateLimit({
        store: mode === 'memory' ? 'memory' : 'redis',
        ...(mode !== 'memory' && { redis: { url: process.env.REDIS_URL } }),
        keyBy: mode === 'redis-10k-keys' ? { header: 'x-api-key' } : 'ip',
        tiers: { bench: '1000000000/hour' },
        defaultTier: 'bench',
      }),
    );
  }
  const gateway = createGateway(
    {
      logging: { level: 'warn', pretty: false, accessLog: false },
      services: { api: { targets: [process.env.UPSTREAM] } },
      routes: [{ prefix: '/api', service: 'api', auth: 'public' }],
    },
    { plugins },
  );
  await gateway.listen({ port: Number(process.env.PORT), host: '127.0.0.1' });
  console.error('ready');
  process.on('SIGTERM', () => gateway.close({ graceMs: 500 }).then(() => process.exit(0)));
} else if (process.argv[2] === '--stores') {
  await stores(process.argv[3]);
} else {
  await main();
}

/** The limiter alone, in this process: the middleware on the memory store, and RedisStore.consume with 64 in flight. */
async function stores(redisUrl) {
  const { MemoryStore, RedisStore, rateLimit } = await import('@lucid/middleware-ratelimit');
  const policy = { limit: 1_000_000_000, windowMs: 3_600_000 };
  const seconds = Number(process.env.BENCH_SECONDS ?? 10) / 2;
  const out = [];

  const plugin = rateLimit({ keyBy: 'user', tiers: { bench: '1000000000/hour' }, defaultTier: 'bench' });
  const route = { id: '/api', kind: 'proxy', exact: false, config: { prefix: '/api' }, service: undefined };
  const mw = plugin.middleware(route);
  const next = () => Promise.resolve();
  for (const [label, ipOf] of [
    ['middleware + memory, one key', () => '203.0.113.1'],
    ['middleware + memory, 10k keys', (i) => `10.0.${(i >> 8) & 39}.${i & 255}`],
  ]) {
    let n = 0;
    const until = performance.now() + seconds * 1000;
    while (performance.now() < until) {
      for (let j = 0; j < 10_000; j++, n++) {
        await mw({ clientIp: ipOf(n), state: {}, responseHeaders: {}, req: { headers: {} } }, next);
      }
    }
    out.push({ label, opsPerSec: n / seconds });
  }
  await plugin.stop();

  const memory = new MemoryStore();
  for (const [label, keyOf] of [
    ['MemoryStore.consumeSync, one key', () => 'k'],
    ['MemoryStore.consumeSync, 10k keys', (i) => `k${i % 10_000}`],
  ]) {
    let n = 0;
    const until = performance.now() + seconds * 1000;
    while (performance.now() < until)
      for (let j = 0; j < 10_000; j++, n++) memory.consumeSync(keyOf(n), policy);
    out.push({ label, opsPerSec: n / seconds });
  }
  await memory.close();

  const redis = new RedisStore({ url: redisUrl, commandTimeout: 1_000 });
  await redis.connect();
  for (const [label, keyOf] of [
    ['RedisStore.consume, one key, 64 in flight', () => 'lucid:rl:{bench}'],
    ['RedisStore.consume, 10k keys, 64 in flight', (i) => `lucid:rl:{bench-${i % 10_000}}`],
  ]) {
    let n = 0;
    const latencies = [];
    const until = performance.now() + seconds * 1000;
    await Promise.all(
      Array.from({ length: 64 }, async () => {
        while (performance.now() < until) {
          const started = performance.now();
          await redis.consume(keyOf(n++), policy);
          latencies.push(performance.now() - started);
        }
      }),
    );
    latencies.sort((a, b) => a - b);
    out.push({
      label,
      opsPerSec: n / seconds,
      p50: latencies[latencies.length >> 1],
      p99: latencies[Math.floor(latencies.length * 0.99)],
    });
  }
  await redis.close();
  process.stdout.write(`${JSON.stringify(out)}\n`);
}

async function main() {
  const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
  const SECONDS = Number(process.env.BENCH_SECONDS ?? 10);
  const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 64);
  if (!has('wrk')) throw new Error('bench/ratelimit.mjs needs wrk');
  const taskset = has('taskset') && cpus().length > 1;
  const gatewayCpu = String(cpus().length - 1);
  const otherCpus = cpus().length > 1 ? `0-${cpus().length - 2}` : '0';
  const pinned = (cpu, cmd, args) => (taskset ? ['taskset', ['-c', cpu, cmd, ...args]] : [cmd, args]);

  const start = async (cpu, cmd, args, env, readyText = 'ready', stream = 'stderr') => {
    const [c, a] = pinned(cpu, cmd, args);
    const child = spawn(c, a, { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    await new Promise((resolve, reject) => {
      child[stream].on('data', (d) => {
        out += d;
        if (out.includes(readyText)) resolve();
      });
      child.once('exit', (code) => reject(new Error(`${cmd} exited (${code}): ${out}`)));
    });
    child.stdout.resume();
    child.stderr.resume();
    return child;
  };
  const stop = async (child) => {
    if (child.exitCode !== null) return;
    const exited = once(child, 'exit');
    child.kill('SIGTERM');
    await exited;
  };

  const script = join(tmpdir(), 'lucid-bench-ratelimit.lua');
  writeFileSync(
    script,
    `local keyed = os.getenv('BENCH_KEYED') == '1'
request = function()
  if keyed then return wrk.format(nil, nil, { ['x-api-key'] = 'key-' .. math.random(10000) }) end
  return wrk.format()
end
done = function(summary, latency)
  local e = summary.errors
  io.write(string.format('{"requests":%d,"duration_us":%d,"connect":%d,"read":%d,"write":%d,"timeout":%d,"non2xx":%d,"p50_us":%d,"p99_us":%d}\\n',
    summary.requests, summary.duration, e.connect, e.read, e.write, e.timeout, e.status,
    latency:percentile(50), latency:percentile(99)))
end
`,
  );
  const load = (url, seconds, keyed) => {
    const [c, a] = pinned(otherCpus, 'wrk', ['-t1', `-c${CONNECTIONS}`, `-d${seconds}s`, '-s', script, url]);
    const out = execFileSync(c, a, {
      encoding: 'utf8',
      env: { ...process.env, BENCH_KEYED: keyed ? '1' : '0' },
    });
    const r = JSON.parse(out.slice(out.lastIndexOf('{')));
    const errors = r.connect + r.read + r.write + r.timeout + r.non2xx;
    if (errors > 0) console.error(`  errors: ${JSON.stringify(r)}`);
    return { rps: r.requests / (r.duration_us / 1e6), p50: r.p50_us / 1000, p99: r.p99_us / 1000, errors };
  };

  const upPort = await freePort();
  const upstream = await start(otherCpus, process.execPath, [join(here, 'servers/upstream.mjs')], {
    PORT: upPort,
  });
  const redisPort = await freePort();
  const redis = await start(
    otherCpus,
    'redis-server',
    ['--port', String(redisPort), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'],
    {},
    'Ready to accept',
    'stdout',
  );

  const modes = ['none', 'memory', 'redis', 'redis-10k-keys'];
  const runs = Object.fromEntries(modes.map((m) => [m, []]));
  let storeRuns = [];
  try {
    for (let round = 1; round <= ROUNDS; round++) {
      for (const mode of round % 2 ? modes : [...modes].reverse()) {
        const port = await freePort();
        const gw = await start(
          gatewayCpu,
          process.execPath,
          [fileURLToPath(import.meta.url), '--serve', mode],
          {
            PORT: port,
            UPSTREAM: `http://127.0.0.1:${upPort}`,
            REDIS_URL: `redis://127.0.0.1:${redisPort}`,
          },
        );
        try {
          const url = `http://127.0.0.1:${port}/api/bench`;
          const keyed = mode === 'redis-10k-keys';
          load(url, 2, keyed); // warm-up: JIT, pools
          const r = load(url, SECONDS, keyed);
          runs[mode].push(r);
          console.error(
            `round ${round} ${mode.padEnd(15)} ${r.rps.toFixed(0).padStart(7)} req/s  p50 ${r.p50.toFixed(2)} ms  p99 ${r.p99.toFixed(2)} ms  errors ${r.errors}`,
          );
        } finally {
          await stop(gw);
        }
      }
    }
    const [c, a] = pinned(gatewayCpu, process.execPath, [
      fileURLToPath(import.meta.url),
      '--stores',
      `redis://127.0.0.1:${redisPort}`,
    ]);
    storeRuns = JSON.parse(
      execFileSync(c, a, { encoding: 'utf8', env: { ...process.env, BENCH_SECONDS: String(SECONDS) } }),
    );
  } finally {
    await stop(upstream);
    await stop(redis);
  }

  const median = (xs) => {
    const s = [...xs].sort((a, b) => a - b);
    const m = s.length >> 1;
    return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
  };
  const base = median(runs.none.map((r) => r.rps));
  console.log(
    `${cpus()[0]?.model ?? 'unknown CPU'}, ${cpus().length} cores, Node ${process.version}, wrk ${CONNECTIONS} connections, ${ROUNDS} rounds x ${SECONDS}s, gateway ${taskset ? `pinned to CPU ${gatewayCpu}` : 'not pinned'}\n`,
  );
  console.log('| limiter | req/s | vs none | p50 ms | p99 ms | errors |\n|---|---:|---:|---:|---:|---:|');
  for (const mode of modes) {
    const rs = runs[mode];
    const rps = median(rs.map((r) => r.rps));
    console.log(
      `| ${mode} | ${rps.toFixed(0)} | ${(rps / base).toFixed(2)}x | ${median(rs.map((r) => r.p50)).toFixed(2)} | ${median(rs.map((r) => r.p99)).toFixed(2)} | ${rs.reduce((a, r) => a + r.errors, 0)} |`,
    );
  }
  console.log('\n| limiter alone (in process) | ops/s | p50 ms | p99 ms |\n|---|---:|---:|---:|');
  for (const r of storeRuns) {
    console.log(
      `| ${r.label} | ${r.opsPerSec.toFixed(0)} | ${r.p50?.toFixed(2) ?? '-'} | ${r.p99?.toFixed(2) ?? '-'} |`,
    );
  }
}
