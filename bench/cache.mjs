// What the response cache buys: one cacheable GET through Lucid without a cache, with the memory
// store, with Redis, and through nginx with proxy_cache, same upstream, same load, rounds interleaved.
// Reports requests per second, requests per CPU-second of the proxy process, and how many requests
// reached the upstream (a cache should send it about one).
//
//   node bench/cache.mjs                        3 rounds x 10 s per contender (needs `pnpm build` first)
//   BENCH_ROUNDS=1 BENCH_SECONDS=5 node bench/cache.mjs
import { execFileSync, spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { connect } from 'node:net';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { cpuSeconds, freePort, has } from './lib.mjs';

const BODY = JSON.stringify({
  height: 123456,
  hash: 'ab'.repeat(32),
  txs: Array.from({ length: 20 }, (_, i) => i),
});

if (process.argv[2] === '--upstream') {
  // Child mode: the upstream, counting what reaches it (GET /count answers the number).
  let served = 0;
  const server = createServer((req, res) => {
    req.resume();
    if (req.url === '/count') {
      res.end(String(served));
      return;
    }
    served++;
    res.writeHead(200, {
      'content-type': 'application/json',
      'content-length': Buffer.byteLength(BODY),
      'cache-control': 'public, max-age=3600',
    });
    res.end(BODY);
  });
  server.keepAliveTimeout = 65_000;
  server.listen(Number(process.env.PORT), '127.0.0.1', () => console.error('ready'));
} else if (process.argv[2] === '--serve') {
  // Child mode: one gateway in this process.
  const { createGateway } = await import('@lucid/gateway-core');
  const mode = process.argv[3];
  const plugins = [];
  if (mode !== 'lucid-uncached') {
    const { responseCache } = await import('@lucid/middleware-cache');
    plugins.push(
      responseCache(
        mode === 'lucid-cache-redis'
          ? { store: 'redis', redis: { url: process.env.REDIS_URL } }
          : { store: 'memory' },
      ),
    );
  }
  const gateway = createGateway(
    {
      logging: { level: 'warn', pretty: false, accessLog: false },
      services: { api: { targets: [process.env.UPSTREAM] } },
      routes: [
        { prefix: '/api', service: 'api', auth: 'public', ...(mode !== 'lucid-uncached' && { cache: true }) },
      ],
      ...(mode !== 'lucid-uncached' && { cache: {} }),
    },
    { plugins },
  );
  await gateway.listen({ port: Number(process.env.PORT), host: '127.0.0.1' });
  console.error('ready');
  process.on('SIGTERM', () => gateway.close({ graceMs: 500 }).then(() => process.exit(0)));
} else {
  await main();
}

/** CPU seconds of a process and its children (nginx's master does nothing; its worker serves). */
function treeCpuSeconds(pid) {
  let children = [];
  try {
    children = readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean);
  } catch {}
  return children.reduce((sum, child) => sum + treeCpuSeconds(Number(child)), cpuSeconds(pid) ?? 0);
}

async function main() {
  const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
  const SECONDS = Number(process.env.BENCH_SECONDS ?? 10);
  const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 64);
  if (!has('wrk')) throw new Error('bench/cache.mjs needs wrk');
  const nginxBin = ['nginx', '/usr/sbin/nginx'].find((c) => has(c));
  const taskset = has('taskset') && cpus().length > 1;
  const proxyCpu = String(cpus().length - 1);
  const otherCpus = cpus().length > 1 ? `0-${cpus().length - 2}` : '0';
  const pinned = (cpu, cmd, args) => (taskset ? ['taskset', ['-c', cpu, cmd, ...args]] : [cmd, args]);
  const here = fileURLToPath(import.meta.url);

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
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = once(child, 'exit');
    child.kill('SIGTERM');
    await exited;
  };
  const startNginx = async (port, upPort) => {
    const dir = join(tmpdir(), `lucid-bench-nginx-cache-${port}`);
    mkdirSync(join(dir, 'cache'), { recursive: true });
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
  proxy_cache_path ${dir}/cache keys_zone=c:10m max_size=64m;
  upstream up { server 127.0.0.1:${upPort}; keepalive 256; }
  server {
    listen 127.0.0.1:${port};
    location / {
      proxy_pass http://up; proxy_http_version 1.1; proxy_set_header Connection "";
      proxy_cache c; proxy_cache_lock on; add_header X-Cache-Status $upstream_cache_status;
    }
  }
}
`,
    );
    const [c, a] = pinned(proxyCpu, nginxBin, ['-c', conf, '-p', dir]);
    const child = spawn(c, a, { stdio: 'ignore' });
    for (;;) {
      const ok = await new Promise((r) => {
        const s = connect(port, '127.0.0.1', () => {
          s.destroy();
          r(true);
        });
        s.on('error', () => r(false));
      });
      if (ok) return child;
      if (child.exitCode !== null) throw new Error('nginx did not start');
      await new Promise((r) => setTimeout(r, 50));
    }
  };

  const script = join(tmpdir(), 'lucid-bench-cache.lua');
  writeFileSync(
    script,
    `done = function(summary, latency)
  local e = summary.errors
  io.write(string.format('{"requests":%d,"duration_us":%d,"errors":%d,"p50_us":%d,"p99_us":%d}\\n',
    summary.requests, summary.duration, e.connect + e.read + e.write + e.timeout + e.status,
    latency:percentile(50), latency:percentile(99)))
end
`,
  );
  const load = (url, seconds) => {
    const [c, a] = pinned(otherCpus, 'wrk', ['-t1', `-c${CONNECTIONS}`, `-d${seconds}s`, '-s', script, url]);
    const out = execFileSync(c, a, { encoding: 'utf8' });
    const r = JSON.parse(out.slice(out.lastIndexOf('{')));
    return {
      requests: r.requests,
      rps: r.requests / (r.duration_us / 1e6),
      p50: r.p50_us / 1000,
      p99: r.p99_us / 1000,
      errors: r.errors,
    };
  };

  const upPort = await freePort();
  const upstream = await start(otherCpus, process.execPath, [here, '--upstream'], { PORT: upPort });
  const upstreamCount = async () => Number(await (await fetch(`http://127.0.0.1:${upPort}/count`)).text());
  const redisPort = await freePort();
  const redis = await start(
    otherCpus,
    'redis-server',
    ['--port', String(redisPort), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'],
    {},
    'Ready to accept',
    'stdout',
  );

  const contenders = [
    'lucid-uncached',
    'lucid-cache-memory',
    'lucid-cache-redis',
    ...(nginxBin ? ['nginx-proxy-cache'] : []),
  ];
  const runs = Object.fromEntries(contenders.map((m) => [m, []]));
  try {
    for (let round = 1; round <= ROUNDS; round++) {
      for (const name of round % 2 ? contenders : [...contenders].reverse()) {
        const port = await freePort();
        const proxy =
          name === 'nginx-proxy-cache'
            ? await startNginx(port, upPort)
            : await start(proxyCpu, process.execPath, [here, '--serve', name], {
                PORT: port,
                UPSTREAM: `http://127.0.0.1:${upPort}`,
                REDIS_URL: `redis://127.0.0.1:${redisPort}`,
              });
        // The proxy's own pid (taskset execs it, so the child's pid is the proxy's).
        const pid = proxy.pid;
        try {
          if (name === 'lucid-cache-redis') execFileSync('redis-cli', ['-p', String(redisPort), 'FLUSHALL']);
          const url = `http://127.0.0.1:${port}/api/blocks/latest`;
          load(url, 2); // warm-up: JIT, pools, the first (stored) answer
          const before = await upstreamCount();
          const cpu0 = treeCpuSeconds(pid);
          const r = load(url, SECONDS);
          const cpu = treeCpuSeconds(pid) - cpu0;
          const upstreamRequests = (await upstreamCount()) - before;
          const row = { ...r, cpu, perCpuSecond: r.requests / cpu, upstreamRequests };
          runs[name].push(row);
          console.error(
            `round ${round} ${name.padEnd(20)} ${r.rps.toFixed(0).padStart(7)} req/s  ${row.perCpuSecond.toFixed(0).padStart(7)} req/CPU-s  p99 ${r.p99.toFixed(2)} ms  upstream ${upstreamRequests}  errors ${r.errors}`,
          );
        } finally {
          await stop(proxy);
        }
      }
    }
  } finally {
    await stop(upstream);
    await stop(redis);
  }

  const median = (xs) => {
    const s = [...xs].sort((a, b) => a - b);
    const m = s.length >> 1;
    return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
  };
  const base = median(runs['lucid-uncached'].map((r) => r.rps));
  const lines = [
    `${cpus()[0]?.model ?? 'unknown CPU'}, ${cpus().length} cores, Node ${process.version}, wrk ${CONNECTIONS} connections, ${ROUNDS} rounds x ${SECONDS}s, proxy ${taskset ? `pinned to CPU ${proxyCpu}` : 'not pinned'}`,
    '',
    '| proxy | req/s | vs Lucid uncached | req per CPU-second | p50 ms | p99 ms | upstream requests | errors |',
    '|---|---:|---:|---:|---:|---:|---:|---:|',
  ];
  for (const name of contenders) {
    const rs = runs[name];
    const rps = median(rs.map((r) => r.rps));
    lines.push(
      `| ${name} | ${rps.toFixed(0)} | ${(rps / base).toFixed(2)}x | ${median(rs.map((r) => r.perCpuSecond)).toFixed(0)} | ${median(rs.map((r) => r.p50)).toFixed(2)} | ${median(rs.map((r) => r.p99)).toFixed(2)} | ${median(rs.map((r) => r.upstreamRequests))} | ${rs.reduce((a, r) => a + r.errors, 0)} |`,
    );
  }
  console.log(lines.join('\n'));
}
