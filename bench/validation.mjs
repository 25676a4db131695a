// What request validation costs: one gateway route taking a 1 KB JSON body, forwarded as it is and
// checked against the service's OpenAPI 3.1 document first, same upstream, same load, rounds
// interleaved. The number that matters on a shared machine is requests per CPU-second of the
// gateway process (its own user + system time over the measured window), not requests per second.
//
//   node bench/validation.mjs                      3 rounds x 10 s per mode (needs `pnpm build` first)
//   BENCH_ROUNDS=1 BENCH_SECONDS=5 node bench/validation.mjs
import { execFileSync, spawn } from 'node:child_process';
import { once } from 'node:events';
import { cpus } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import autocannon from 'autocannon';
import { cpuSeconds, freePort } from './lib.mjs';

const here = fileURLToPath(new URL('.', import.meta.url));

/** The document the checked route is validated against: a payment with nested parts, formats and a oneOf. */
const DOCUMENT = {
  openapi: '3.1.0',
  info: { title: 'bench', version: '1' },
  paths: {
    '/orders': {
      post: {
        parameters: [{ name: 'dryRun', in: 'query', schema: { type: 'boolean' } }],
        requestBody: {
          required: true,
          content: { 'application/json': { schema: { $ref: '#/components/schemas/Order' } } },
        },
        responses: { 200: { description: 'ok' } },
      },
    },
  },
  components: {
    schemas: {
      Order: {
        type: 'object',
        required: ['id', 'customer', 'lines', 'payment'],
        additionalProperties: false,
        properties: {
          id: { type: 'string', format: 'uuid' },
          customer: {
            type: 'object',
            required: ['email', 'name'],
            properties: {
              email: { type: 'string', format: 'email' },
              name: { type: 'string', maxLength: 100 },
            },
          },
          lines: {
            type: 'array',
            maxItems: 100,
            items: {
              type: 'object',
              required: ['sku', 'quantity', 'price'],
              properties: {
                sku: { type: 'string', pattern: '^[A-Z]{3}-[0-9]{4}$' },
                quantity: { type: 'integer', minimum: 1 },
                price: { type: 'number', minimum: 0 },
                note: { type: ['string', 'null'] },
              },
            },
          },
          payment: {
            oneOf: [
              {
                type: 'object',
                required: ['card'],
                properties: { card: { type: 'string', pattern: '^[0-9]{16}$' } },
              },
              { type: 'object', required: ['iban'], properties: { iban: { type: 'string', minLength: 15 } } },
            ],
          },
          placedAt: { type: 'string', format: 'date-time' },
        },
      },
    },
  },
};

/** A body of about 1 KB that the document accepts. */
function body() {
  const lines = [];
  for (let i = 0; JSON.stringify(lines).length < 760; i++) {
    lines.push({
      sku: `ABC-${String(1000 + i)}`,
      quantity: 1 + (i % 3),
      price: 9.99 + i,
      note: i % 2 ? null : 'gift',
    });
  }
  return JSON.stringify({
    id: '1b4e28ba-2fa1-11d2-883f-0016d3cca427',
    customer: { email: 'ada@example.com', name: 'Ada Lovelace' },
    lines,
    payment: { card: '4111111111111111' },
    placedAt: '2026-12-07T23:59:59Z',
  });
}

if (process.argv[2] === '--serve') {
  // Child mode: one gateway in this process.
  const { createGateway } = await import('@lucid/gateway-core');
  const { requestValidation } = await import('@lucid/openapi');
  const checked = process.argv[3] === 'validated';
  // The document is handed over as the catalog would after a fetch round (no fetching during the run).
  const feed = {
    watch(on) {
      on(new Map([['api', { doc: DOCUMENT }]]));
      return () => {};
    },
  };
  const gateway = createGateway(
    {
      logging: { level: 'warn', pretty: false, accessLog: false },
      services: { api: { targets: [process.env.UPSTREAM] } },
      routes: [{ prefix: '/api', service: 'api', auth: 'public', ...(checked && { validate: true }) }],
    },
    { plugins: [requestValidation(() => feed)] },
  );
  await gateway.listen({ port: Number(process.env.PORT), host: '127.0.0.1' });
  console.error('ready');
  process.on('SIGTERM', () => gateway.close({ graceMs: 500 }).then(() => process.exit(0)));
} else if (process.argv[2] === '--check') {
  await checkAlone();
} else {
  await main();
}

/** The check alone, in this process: what one request costs it, and how much of that is JSON.parse. */
async function checkAlone() {
  const { OpenApiValidator } = await import('@lucid/openapi');
  const payload = Buffer.from(body());
  const validator = OpenApiValidator.compile(DOCUMENT);
  const found = validator.find('POST', '/orders');
  const parts = {
    path: '/orders',
    query: 'dryRun=false',
    headers: { 'content-type': 'application/json' },
    body: payload,
  };
  const out = [];
  for (const [label, fn] of [
    ['JSON.parse of the body', () => JSON.parse(payload.toString())],
    [
      'find + check (parse included)',
      () => validator.find('POST', '/orders').operation.check(parts, found.params),
    ],
  ]) {
    for (let i = 0; i < 5_000; i++) fn();
    const n = 50_000;
    const started = performance.now();
    for (let i = 0; i < n; i++) fn();
    out.push({ label, us: ((performance.now() - started) * 1000) / n });
  }
  process.stdout.write(`${JSON.stringify(out)}\n`);
}

async function main() {
  const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
  const SECONDS = Number(process.env.BENCH_SECONDS ?? 10);
  const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 32);
  const payload = body();

  const start = async (cmd, args, env) => {
    const child = spawn(cmd, args, { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    await new Promise((resolve, reject) => {
      child.stderr.on('data', (d) => {
        out += d;
        if (out.includes('ready')) resolve();
      });
      child.once('exit', (code) => reject(new Error(`${cmd} exited (${code}): ${out}`)));
    });
    child.stdout.resume();
    return child;
  };
  const stop = async (child) => {
    if (child.exitCode !== null) return;
    const exited = once(child, 'exit');
    child.kill('SIGTERM');
    await exited;
  };
  const load = (url, seconds) =>
    autocannon({
      url,
      method: 'POST',
      connections: CONNECTIONS,
      duration: seconds,
      headers: { 'content-type': 'application/json' },
      body: payload,
    });

  const upPort = await freePort();
  const upstream = await start(process.execPath, [join(here, 'servers/upstream.mjs')], { PORT: upPort });
  const modes = ['forwarded', 'validated'];
  const runs = Object.fromEntries(modes.map((m) => [m, []]));
  try {
    for (let round = 1; round <= ROUNDS; round++) {
      for (const mode of round % 2 ? modes : [...modes].reverse()) {
        const port = await freePort();
        const gw = await start(process.execPath, [fileURLToPath(import.meta.url), '--serve', mode], {
          PORT: port,
          UPSTREAM: `http://127.0.0.1:${upPort}`,
        });
        try {
          const url = `http://127.0.0.1:${port}/api/orders?dryRun=false`;
          await load(url, 2); // warm-up: JIT, pools
          const cpuBefore = cpuSeconds(gw.pid);
          const r = await load(url, SECONDS);
          const cpu = cpuSeconds(gw.pid) - cpuBefore;
          const ok = r['2xx'];
          const errors = r.errors + r.timeouts + r.non2xx;
          runs[mode].push({ rps: ok / SECONDS, perCpuSecond: ok / cpu, p99: r.latency.p99, errors });
          console.error(
            `round ${round} ${mode.padEnd(10)} ${(ok / SECONDS).toFixed(0).padStart(6)} req/s  ${(ok / cpu).toFixed(0).padStart(6)} req/CPU-s  p99 ${r.latency.p99} ms  errors ${errors}`,
          );
        } finally {
          await stop(gw);
        }
      }
    }
  } finally {
    await stop(upstream);
  }
  const alone = JSON.parse(
    execFileSync(process.execPath, [fileURLToPath(import.meta.url), '--check'], { encoding: 'utf8' }),
  );

  const median = (xs) => {
    const s = [...xs].sort((a, b) => a - b);
    const m = s.length >> 1;
    return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
  };
  const base = median(runs.forwarded.map((r) => r.perCpuSecond));
  console.log(
    `${cpus()[0]?.model ?? 'unknown CPU'}, ${cpus().length} cores, Node ${process.version}, autocannon ${CONNECTIONS} connections, ${ROUNDS} rounds x ${SECONDS}s, POST with a ${Buffer.byteLength(payload)}-byte JSON body\n`,
  );
  console.log(
    '| route | req/CPU-s | vs forwarded | req/s | p99 ms | errors |\n|---|---:|---:|---:|---:|---:|',
  );
  for (const mode of modes) {
    const rs = runs[mode];
    const perCpu = median(rs.map((r) => r.perCpuSecond));
    console.log(
      `| ${mode} | ${perCpu.toFixed(0)} | ${(perCpu / base).toFixed(2)}x | ${median(rs.map((r) => r.rps)).toFixed(0)} | ${median(rs.map((r) => r.p99)).toFixed(0)} | ${rs.reduce((a, r) => a + r.errors, 0)} |`,
    );
  }
  console.log('\n| the check alone (in process) | µs per request |\n|---|---:|');
  for (const r of alone) console.log(`| ${r.label} | ${r.us.toFixed(1)} |`);
}
