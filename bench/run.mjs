// The benchmark: every contender in its own process, pinned to one core, against the same
// upstream, loaded by wrk (or autocannon) from another process; rounds interleaved, medians reported.
//
//   pnpm bench                      full run (3 rounds x 10 s per contender)
//   BENCH_ROUNDS=1 BENCH_SECONDS=5  quicker
//   BENCH_ONLY=lucid-plain,fast-gateway   a subset
import { execFileSync, spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdirSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { SignJWT } from 'jose';
import { cliContenders } from './cli-contenders.mjs';
import { cpuSeconds, freePort, has, memoryOf, waitForReady } from './lib.mjs';

const here = fileURLToPath(new URL('.', import.meta.url));
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 10);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 64);
const FIXED_RATE = Number(process.env.BENCH_RATE ?? 2000);
const ONLY = process.env.BENCH_ONLY?.split(',');

const nginxBin = ['nginx', '/usr/sbin/nginx'].find((c) => has(c));
const WRK = has('wrk');
const TASKSET = has('taskset') && cpus().length > 1;
// The proxy gets the last core to itself; upstream and load share the others.
const PROXY_CPU = String(cpus().length - 1);
const OTHER_CPUS = cpus().length > 1 ? `0-${cpus().length - 2}` : '0';

function pinned(cpu, cmd, args) {
  return TASKSET ? ['taskset', ['-c', cpu, cmd, ...args]] : [cmd, args];
}

/**
 * Starts a contender and resolves once it is ready: when `readyUrl` answers 200 (the CLI's
 * /health/ready), else when it prints "ready". `startMs` is spawn to ready.
 */
async function startProcess(cmd, args, env, cpu, readyUrl, cwd) {
  const [c, a] = pinned(cpu, cmd, args);
  const t0 = performance.now();
  const child = spawn(c, a, { cwd, env: { ...process.env, ...env }, stdio: ['ignore', 'ignore', 'pipe'] });
  let err = '';
  child.stderr.on('data', (d) => {
    if (err.length < 64_000) err += d;
  });
  const exited = new Promise((_, reject) =>
    child.once('exit', (code) => reject(new Error(`${cmd} ${a.join(' ')} exited (${code}): ${err}`))),
  );
  exited.catch(() => {});
  const ready = readyUrl
    ? waitForReady(readyUrl, child)
    : new Promise((resolve) => child.stderr.on('data', () => err.includes('ready') && resolve()));
  await Promise.race([ready, exited]);
  child.startMs = performance.now() - t0;
  return child;
}

async function stopProcess(child) {
  if (child.exitCode !== null) return;
  const exited = once(child, 'exit');
  child.kill('SIGTERM');
  await exited;
}

/** The real proxy's pid (taskset execs the command, so the pid is the same). */
const pidOf = (child) => child.pid;

const wrkScript = join(tmpdir(), 'lucid-bench-wrk.lua');
writeFileSync(
  wrkScript,
  `done = function(summary, latency, requests)
  io.write(string.format('{"requests":%d,"duration_us":%d,"errors":%d,"non2xx":%d,"p50_us":%d,"p99_us":%d}\\n',
    summary.requests, summary.duration,
    summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout,
    summary.errors.status, latency:percentile(50), latency:percentile(99)))
end
`,
);

async function load(url, headers, opts = {}) {
  const rate = opts.rate;
  if (WRK && !rate) {
    const [c, a] = pinned(OTHER_CPUS, 'wrk', [
      '-t1',
      `-c${CONNECTIONS}`,
      `-d${opts.seconds ?? SECONDS}s`,
      '-s',
      wrkScript,
      ...Object.entries(headers).flatMap(([k, v]) => ['-H', `${k}: ${v}`]),
      url,
    ]);
    const out = execFileSync(c, a, { encoding: 'utf8' });
    const r = JSON.parse(out.slice(out.lastIndexOf('{')));
    return {
      rps: r.requests / (r.duration_us / 1e6),
      p50: r.p50_us / 1000,
      p99: r.p99_us / 1000,
      errors: r.errors + r.non2xx,
    };
  }
  if (rate) {
    // Our own open-loop generator: autocannon and wrk send in bursts, which skews latency at a fixed rate.
    const [c, a] = pinned(OTHER_CPUS, process.execPath, [
      join(here, 'fixed-rate.mjs'),
      url,
      String(rate),
      String(opts.seconds ?? SECONDS),
      ...Object.entries(headers).map(([k, v]) => `${k}:${v}`),
    ]);
    const r = JSON.parse(execFileSync(c, a, { encoding: 'utf8' }));
    return { rps: rate, p50: r.p50, p99: r.p99, errors: r.errors };
  }
  const bin = fileURLToPath(new URL('./node_modules/autocannon/autocannon.js', import.meta.url));
  const args = [bin, '-j', '-c', String(CONNECTIONS), '-d', String(opts.seconds ?? SECONDS)];
  for (const [k, v] of Object.entries(headers)) args.push('-H', `${k}=${v}`);
  args.push(url);
  const [c, a] = pinned(OTHER_CPUS, process.execPath, args);
  const r = JSON.parse(execFileSync(c, a, { encoding: 'utf8', maxBuffer: 64 << 20 }));
  return {
    rps: r.requests.average,
    p50: r.latency.p50,
    p99: r.latency.p99,
    errors: r.errors + r.timeouts + (r.non2xx ?? 0),
  };
}

const median = (xs) => {
  const s = xs.filter((x) => x !== undefined).sort((a, b) => a - b);
  if (s.length === 0) return undefined;
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};

async function main() {
  const secret = 'bench-secret-bench-secret-bench-secret';
  const token = await new SignJWT({ sub: 'bench-user', tier: 'bench', scope: 'read' })
    .setProtectedHeader({ alg: 'HS256' })
    .setIssuer('lucid-auth')
    .setAudience('lucid-api')
    .setIssuedAt()
    .setExpirationTime('2h')
    .sign(new TextEncoder().encode(secret));
  const auth = { authorization: `Bearer ${token}` };

  const upPort = await freePort();
  const upstreamUrl = `http://127.0.0.1:${upPort}`;
  const upstream = await startProcess(
    process.execPath,
    [join(here, 'servers/upstream.mjs')],
    { PORT: upPort },
    OTHER_CPUS,
  );

  // Where the tracing rows export their spans: a collector that takes everything.
  const otlpPort = await freePort();
  const otlp = await startProcess(
    process.execPath,
    [join(here, 'servers/otlp-sink.mjs')],
    { PORT: otlpPort },
    OTHER_CPUS,
  );

  let redis;
  const redisPort = await freePort();
  if (has('redis-server')) {
    const [c, a] = pinned(OTHER_CPUS, 'redis-server', [
      '--port',
      String(redisPort),
      '--save',
      '',
      '--appendonly',
      'no',
    ]);
    redis = spawn(c, a, { stdio: ['ignore', 'pipe', 'ignore'] });
    await new Promise((r) => redis.stdout.on('data', (d) => String(d).includes('Ready to accept') && r()));
    redis.stdout.resume();
  }

  const node = (file, env = {}) => ({ cmd: process.execPath, args: [join(here, 'servers', file)], env });
  const contenders = [
    { name: 'direct', direct: true },
    { name: 'raw-node-pipe', ...node('raw-node-pipe.mjs') },
    { name: 'raw-http-proxy-3', ...node('raw-http-proxy3.mjs') },
    { name: 'raw-undici', ...node('raw-undici.mjs') },
    { name: 'fast-gateway', ...node('fast-gateway.mjs') },
    { name: 'fastify-http-proxy', ...node('fastify-http-proxy.mjs') },
    { name: 'lucid-plain', ...node('lucid.mjs', { BENCH_MODE: 'plain' }) },
    // Tracing off (lucid-plain), on at 1% of new traces, and on for every request.
    { name: 'lucid-trace-0.01', ...node('lucid.mjs', { BENCH_MODE: 'plain', TRACE_RATIO: '0.01' }) },
    { name: 'lucid-trace-1', ...node('lucid.mjs', { BENCH_MODE: 'plain', TRACE_RATIO: '1' }) },
    {
      name: 'lucid-plain-http-proxy',
      ...node('lucid.mjs', { BENCH_MODE: 'plain', LUCID_ENGINE: 'http-proxy' }),
    },
    { name: 'lucid-jwt', ...node('lucid.mjs', { BENCH_MODE: 'jwt' }), headers: auth },
    { name: 'lucid-jwt-memory', ...node('lucid.mjs', { BENCH_MODE: 'jwt-memory' }), headers: auth },
    ...(redis
      ? [{ name: 'lucid-jwt-redis', ...node('lucid.mjs', { BENCH_MODE: 'jwt-redis' }), headers: auth }]
      : []),
  ];
  contenders.push(...cliContenders(upstreamUrl));
  if (nginxBin) contenders.push({ name: 'nginx', nginx: true });
  const selected = contenders.filter((c) => !ONLY || ONLY.includes(c.name));

  const results = Object.fromEntries(selected.map((c) => [c.name, []]));
  for (let round = 1; round <= ROUNDS; round++) {
    // Interleaved: each round visits every contender, so drift hits them all alike.
    const order = round % 2 ? selected : [...selected].reverse();
    for (const c of order) {
      const port = await freePort();
      let child;
      if (c.direct) child = undefined;
      else if (c.nginx) child = await startNginx(port, upPort);
      else
        child = await startProcess(
          c.cmd,
          c.args,
          {
            ...c.env,
            PORT: port,
            UPSTREAM: upstreamUrl,
            JWT_SECRET: secret,
            REDIS_URL: `redis://127.0.0.1:${redisPort}`,
            OTLP_URL: `http://127.0.0.1:${otlpPort}/v1/traces`,
          },
          PROXY_CPU,
          c.cli ? `http://127.0.0.1:${port}/health/ready` : undefined,
          c.cwd,
        );
      const startMs = child?.startMs;
      // Idle: after a second with nothing to do (start-up garbage collected or not, as users see it).
      if (child) await new Promise((r) => setTimeout(r, 1_000));
      const idleRss = child ? memoryOf(pidOf(child)).rss : undefined;
      const url = c.direct ? `${upstreamUrl}/api/bench` : `http://127.0.0.1:${port}/api/bench`;
      try {
        if (c.idleOnly) {
          results[c.name].push({ startMs, idleRss });
          console.error(
            `round ${round} ${c.name.padEnd(24)} start ${startMs.toFixed(0)} ms  idle rss ${idleRss?.toFixed(0)} MB`,
          );
          continue;
        }
        await load(url, c.headers ?? {}, { seconds: 2 }); // warm-up: JIT, pools
        const cpuBefore = child ? cpuSeconds(pidOf(child)) : undefined;
        const r = await load(url, c.headers ?? {});
        const cpuAfter = child ? cpuSeconds(pidOf(child)) : undefined;
        // Requests per CPU-second of the proxy: speed per core, robust to a busy neighbour.
        if (cpuBefore !== undefined && cpuAfter !== undefined && cpuAfter > cpuBefore)
          r.perCpuSecond = (r.rps * SECONDS) / (cpuAfter - cpuBefore);
        const fixed = await load(url, c.headers ?? {}, { rate: FIXED_RATE, seconds: Math.min(SECONDS, 10) });
        r.fixedP99 = fixed.p99;
        r.rss = child ? memoryOf(pidOf(child)).peak : undefined;
        r.idleRss = idleRss;
        r.startMs = startMs;
        results[c.name].push(r);
        console.error(
          `round ${round} ${c.name.padEnd(24)} ${r.rps.toFixed(0).padStart(7)} req/s  ${r.perCpuSecond?.toFixed(0).padStart(6) ?? '     -'} req/cpu-s  p50 ${r.p50.toFixed(2)} ms  p99 ${r.p99.toFixed(2)} ms  @${FIXED_RATE}/s p99 ${fixed.p99.toFixed(2)} ms  errors ${r.errors}  start ${r.startMs?.toFixed(0) ?? '-'} ms  idle rss ${r.idleRss?.toFixed(0) ?? '-'} MB  peak rss ${r.rss?.toFixed(0) ?? '-'} MB`,
        );
      } finally {
        if (child) await stopProcess(child);
      }
    }
  }
  await stopProcess(upstream);
  await stopProcess(otlp);
  if (redis) await stopProcess(redis);

  const summary = Object.entries(results).map(([name, runs]) => ({
    name,
    rps: median(runs.map((r) => r.rps)),
    perCpuSecond: median(runs.map((r) => r.perCpuSecond)),
    p50: median(runs.map((r) => r.p50)),
    p99: median(runs.map((r) => r.p99)),
    fixedP99: median(runs.map((r) => r.fixedP99)),
    errors: runs.reduce((a, r) => a + (r.errors ?? 0), 0),
    startMs: median(runs.map((r) => r.startMs)),
    idleRss: median(runs.map((r) => r.idleRss)),
    rss: median(runs.map((r) => r.rss)),
  }));
  const by = Object.fromEntries(summary.map((s) => [s.name, s]));
  const fg = by['fast-gateway']?.rps;
  const fgCpu = by['fast-gateway']?.perCpuSecond;
  const direct = by.direct;
  const fmt = (x, d = 0) => (x === undefined ? '-' : x.toFixed(d));
  const ratio = (a, b) => (a !== undefined && b ? `${(a / b).toFixed(2)}x` : '-');
  const lines = [
    `| contender | req/s | vs fast-gateway | req per CPU-second | per CPU vs fast-gateway | vs direct | p50 ms | p99 ms | p99 at ${FIXED_RATE}/s | added p99 at ${FIXED_RATE}/s | errors | start to ready ms | idle RSS MB | peak RSS MB |`,
    '|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|',
    ...summary.map(
      (s) =>
        `| ${s.name} | ${fmt(s.rps)} | ${ratio(s.rps, fg)} | ${fmt(s.perCpuSecond)} | ${ratio(s.perCpuSecond, fgCpu)} | ${ratio(s.rps, direct?.rps)} | ${fmt(s.p50, 2)} | ${fmt(s.p99, 2)} | ${fmt(s.fixedP99, 2)} | ${direct && s.name !== 'direct' && s.fixedP99 !== undefined ? fmt(s.fixedP99 - direct.fixedP99, 2) : '-'} | ${s.errors} | ${fmt(s.startMs)} | ${fmt(s.idleRss)} | ${fmt(s.rss)} |`,
    ),
  ];
  const machine = `${cpus()[0]?.model ?? 'unknown CPU'}, ${cpus().length} cores, Node ${process.version}, load: ${WRK ? 'wrk' : 'autocannon'} ${CONNECTIONS} connections, ${ROUNDS} rounds x ${SECONDS}s, proxy ${TASKSET ? `pinned to CPU ${PROXY_CPU}` : 'not pinned'}`;
  const table = `${machine}\n\n${lines.join('\n')}\n`;
  console.log(table);
  mkdirSync(join(here, 'results'), { recursive: true });
  writeFileSync(join(here, 'results', 'latest.md'), table);
  writeFileSync(
    join(here, 'results', 'latest.json'),
    `${JSON.stringify({ machine, date: new Date().toISOString(), summary, runs: results }, null, 2)}\n`,
  );
}

async function startNginx(port, upPort) {
  const dir = join(tmpdir(), `lucid-bench-nginx-${port}`);
  mkdirSync(dir, { recursive: true });
  const conf = join(dir, 'nginx.conf');
  writeFileSync(
    conf,
    `worker_processes 1;
daemon off;
pid ${dir}/nginx.pid;
error_log ${dir}/error.log;
events { worker_connections 4096; }
http {
  access_log off;
  upstream up { server 127.0.0.1:${upPort}; keepalive 256; }
  server {
    listen 127.0.0.1:${port};
    location / { proxy_pass http://up; proxy_http_version 1.1; proxy_set_header Connection ""; }
  }
}
`,
  );
  const [c, a] = pinned(PROXY_CPU, nginxBin, ['-c', conf, '-p', dir]);
  const t0 = performance.now();
  const child = spawn(c, a, { stdio: 'ignore' });
  // nginx prints nothing when ready: wait until the port accepts connections.
  for (;;) {
    const ok = await new Promise((r) => {
      const s = connect(port, '127.0.0.1', () => {
        s.destroy();
        r(true);
      });
      s.on('error', () => r(false));
    });
    if (ok) {
      child.startMs = performance.now() - t0;
      return child;
    }
    if (child.exitCode !== null) throw new Error('nginx did not start');
    await new Promise((r) => setTimeout(r, 50));
  }
}

await main();
