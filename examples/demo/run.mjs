// `pnpm demo`: five stand-in Lucid services and the real gateway in front of them, started by one
// command, with curl lines to paste. Ctrl-C stops everything. See docs/demo.md.
//
//   DEMO_PORT=9000 pnpm demo     # the gateway's port (8080 by default; 0: any free port)
import { spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { connect, createServer } from 'node:net';
import { fileURLToPath } from 'node:url';
import { SERVICES, startServices } from './services/index.mjs';
import { demoSteps } from './steps.mjs';

const root = fileURLToPath(new URL('../../', import.meta.url));
const here = fileURLToPath(new URL('.', import.meta.url));
const bin = `${root}packages/cli/dist/bin.js`;
const host = '127.0.0.1';
const say = (line = '') => process.stdout.write(`${line}\n`);

await ensureBuilt();
// A secret per run: tokens only ever come from the stand-in auth service, which shares it.
const secret = process.env.DEMO_JWT_SECRET || randomBytes(32).toString('base64url');
const services = await startServices({ secret, host });
const port = await gatewayPort();
const base = `http://${host}:${port}`;

const gateway = spawn(process.execPath, [bin, 'start', '--config', `${here}gateway.yaml`], {
  cwd: root,
  env: {
    ...process.env,
    PORT: String(port),
    JWT_SECRET_KEY: secret,
    ...Object.fromEntries(
      Object.entries(services).map(([name, s]) => [`DEMO_${name.toUpperCase()}_URL`, s.url]),
    ),
  },
  stdio: ['ignore', 'inherit', 'inherit'],
});

let stopping = false;
const gatewayExit = new Promise((resolve) =>
  gateway.once('exit', (code, signal) => resolve({ code, signal })),
);
gatewayExit.then(async ({ code, signal }) => {
  if (stopping) return;
  console.error(`demo: the gateway stopped (${signal ?? `exit code ${code}`}); stopping the services`);
  await closeServices();
  process.exit(code || 1);
});

for (const sig of ['SIGINT', 'SIGTERM']) process.on(sig, () => void stop());

try {
  await waitUntilHealthy();
  if (!stopping) printWelcome();
} catch (err) {
  if (!stopping) {
    console.error(`demo: ${err.message}`);
    await stop(1);
  }
}

/** Drains the gateway, closes the services, and exits. */
async function stop(exitCode = 0) {
  if (stopping) return;
  stopping = true;
  if (gateway.exitCode === null && gateway.signalCode === null) gateway.kill('SIGTERM');
  const { code } = await gatewayExit;
  await closeServices();
  say('demo: stopped');
  process.exit(exitCode || (code ?? 0));
}

function closeServices() {
  return Promise.all(Object.values(services).map((s) => s.close()));
}

/** From a fresh clone: install once, then build what changed since the last build (all of it, the first time). */
async function ensureBuilt() {
  if (!existsSync(`${root}node_modules`)) {
    // Under `pnpm demo`, npm_execpath is pnpm itself; otherwise pnpm must be on the PATH.
    const viaNode = process.env.npm_execpath && /pnpm/.test(process.env.npm_execpath);
    const [cmd, argv] = viaNode
      ? [process.execPath, [process.env.npm_execpath, 'install']]
      : ['pnpm', ['install']];
    say('demo: running pnpm install');
    const r = spawnSync(cmd, argv, { cwd: root, stdio: 'inherit' });
    if (r.status !== 0) {
      console.error(`demo: pnpm install failed${r.error ? `: ${r.error.message}` : ''}`);
      process.exit(1);
    }
  }
  const { buildIfStale } = await import('../../scripts/build-state.mjs');
  if (!buildIfStale()) process.exit(1);
}

/** DEMO_PORT, else 8080, else (8080 being taken) any free port. */
async function gatewayPort() {
  const wanted = process.env.DEMO_PORT;
  if (wanted !== undefined && wanted !== '0') return Number(wanted);
  if (wanted === undefined && (await canListen(8080))) return 8080;
  const free = await freePort();
  if (wanted === undefined)
    say(`demo: port 8080 is taken; the gateway uses ${free} (choose with DEMO_PORT=...)`);
  return free;
}

function canListen(p) {
  return new Promise((resolve) => {
    const srv = createServer();
    srv.once('error', () => resolve(false));
    srv.listen(p, host, () => srv.close(() => resolve(true)));
  });
}

function freePort() {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, host, () => {
      const { port: p } = srv.address();
      srv.close(() => resolve(p));
    });
  });
}

/** Waits for the gateway's port to open, then for /health to report every service up. */
async function waitUntilHealthy() {
  const deadline = Date.now() + 30_000;
  const pause = () => new Promise((r) => setTimeout(r, 100));
  while (!(await accepts())) {
    if (stopping || gateway.exitCode !== null) throw new Error('the gateway did not start');
    if (Date.now() > deadline) throw new Error(`the gateway did not open ${base} within 30s`);
    await pause();
  }
  for (;;) {
    const res = await fetch(`${base}/health`).catch(() => undefined);
    const body = res?.ok ? await res.json() : undefined;
    if (body?.status === 'healthy') return;
    if (Date.now() > deadline) throw new Error(`${base}/health did not report healthy within 30s`);
    await pause();
  }
}

function accepts() {
  return new Promise((resolve) => {
    const socket = connect(port, host);
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

function printWelcome() {
  say();
  say(`Lucid Gateway demo: the gateway is on ${base}, in front of five stand-in services:`);
  for (const [name, s] of Object.entries(services)) {
    say(`  ${name.padEnd(11)} ${s.url.padEnd(24)} (stands in for ${SERVICES[name].host})`);
  }
  say(
    'Demo users: alice/alice (tier free) and admin/admin (scope admin). Gateway config: examples/demo/gateway.yaml',
  );
  say(`API reference of all five, through the gateway: ${base}/docs (the document: ${base}/openapi.json)`);
  say();
  say('Paste these into another terminal, in order (Ctrl-C here stops everything):');
  demoSteps(base).forEach((step, i) => {
    say();
    say(`# ${i + 1}. ${step.title}`);
    say(`#    -> ${step.answer}`);
    say(step.command);
  });
  say();
  say('The gateway logs each request below.');
  say();
}
