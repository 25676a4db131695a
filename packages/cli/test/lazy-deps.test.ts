import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer as createHttpsServer } from 'node:https';
import * as nodeModule from 'node:module';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort, startOtlpReceiver, startUpstream, type Upstream } from '@lucid/test-kit';
import { ensureBuilt } from '@lucid/test-kit/cli';
import { createPki } from '@lucid/test-kit/consul';
import { afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';

const bin = fileURLToPath(new URL('../dist/bin.js', import.meta.url));

/** Records every module the process loads (ESM and CommonJS), written out when it exits. */
const HOOK = `
import { registerHooks } from 'node:module';
import { writeFileSync } from 'node:fs';
const seen = new Set();
registerHooks({ load(url, ctx, next) { seen.add(url); return next(url, ctx); } });
process.on('exit', () => {
  writeFileSync(process.env.LUCID_TEST_MODULES, [...seen].join('\\n'));
  writeFileSync(process.env.LUCID_TEST_MODULES + '.node', process.moduleLoadList.join('\\n'));
});
`;

const packageOf = (url: string) => /.*node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(url)?.[1];

// A small device holds only what its config uses: these load with the feature, not with the CLI.
// The hook needs module.registerHooks (Node 22.15+).
describe.skipIf(!('registerHooks' in nodeModule))(
  'lucid-gateway start loads heavy dependencies only when used',
  () => {
    beforeAll(ensureBuilt, 300_000);
    let dir: string;
    let upstream: Upstream;
    let child: ChildProcess | undefined;

    beforeEach(async () => {
      dir = await mkdtemp(join(tmpdir(), 'lucid-cli-lazy-'));
      await writeFile(join(dir, 'hook.mjs'), HOOK);
      upstream = await startUpstream();
    });
    afterEach(async () => {
      if (child && child.exitCode === null && child.signalCode === null) {
        const exited = once(child, 'exit');
        child.kill('SIGKILL');
        await exited;
      }
      child = undefined;
      await upstream.close();
      await rm(dir, { recursive: true, force: true });
    });

    /** Starts the CLI in `dir`, waits for /health/ready, runs `use`, stops it and returns the packages it loaded. */
    async function packagesLoaded(
      args: string[],
      env: Record<string, string>,
      use?: (port: number) => Promise<void>,
    ) {
      const port = await freePort();
      const modules = join(dir, 'modules.txt');
      child = spawn(process.execPath, ['--import', join(dir, 'hook.mjs'), bin, 'start', ...args], {
        cwd: dir,
        env: { ...process.env, ...env, PORT: String(port), LUCID_TEST_MODULES: modules },
        stdio: ['ignore', 'ignore', 'pipe'],
      });
      let err = '';
      child.stderr!.on('data', (c) => {
        err += c;
      });
      for (;;) {
        if (child.exitCode !== null) throw new Error(`exited before ready: ${err}`);
        const status = await fetch(`http://127.0.0.1:${port}/health/ready`).then(
          (r) => r.status,
          () => 0,
        );
        if (status === 200) break;
        await new Promise((r) => setTimeout(r, 20));
      }
      await use?.(port);
      const exited = once(child, 'exit');
      child.kill('SIGTERM');
      await exited;
      const urls = (await readFile(modules, 'utf8')).split('\n');
      const packages = new Set(urls.map(packageOf).filter((p) => p !== undefined));
      // Node's own modules, by their internal names (e.g. "NativeModule internal/deps/undici/undici").
      const builtins = (await readFile(`${modules}.node`, 'utf8')).split('\n');
      // The CLI's own chunks are bundles: what they hold is read from the files.
      const chunks = urls.filter((u) => u.startsWith('file:') && u.includes('/cli/dist/'));
      const texts = await Promise.all(chunks.map((u) => readFile(fileURLToPath(u), 'utf8')));
      const bundled = (name: string) => texts.some((t) => t.includes(name));
      return { packages, builtins, bundled, bin: urls.some((u) => u.endsWith('/dist/bin.js')) };
    }

    it('the embedded default (JWT, memory rate limit) loads no http-proxy-3, ioredis or consul', async () => {
      const { packages, bin } = await packagesLoaded(['--host', '127.0.0.1'], {
        JWT_SECRET_KEY: 'a-secret-of-at-least-32-characters-long',
        AUTH_SERVICE_URL: upstream.url,
      });
      // The hook saw the bin load (its bundle holds undici, jose, zod...), so an absence below means something.
      expect(bin).toBe(true);
      expect(packages).not.toContain('http-proxy-3');
      expect(packages).not.toContain('ioredis');
      expect(packages).not.toContain('consul');
      // Tracing is off: not one OpenTelemetry module is read.
      expect([...packages].filter((p) => p.startsWith('@opentelemetry/'))).toEqual([]);
    });

    it('a tracing section loads OpenTelemetry, and the request it traces reaches the collector', async () => {
      const receiver = await startOtlpReceiver();
      try {
        const config = join(dir, 'lucid-gateway.json');
        await writeFile(
          config,
          JSON.stringify({
            server: { host: '127.0.0.1' },
            logging: { level: 'warn', pretty: false },
            services: { api: { targets: [upstream.url] } },
            routes: [{ prefix: '/api', service: 'api', auth: 'public' }],
            tracing: { endpoint: receiver.url, serviceName: 'edge-under-test' },
          }),
        );
        const { packages: loaded } = await packagesLoaded(['--config', config], {}, async (port) => {
          const res = await fetch(`http://127.0.0.1:${port}/api/thing`);
          await res.arrayBuffer();
        });
        expect(loaded).toContain('@opentelemetry/sdk-trace');
        expect(loaded).toContain('@opentelemetry/exporter-trace-otlp-http');
        // The CLI's stop exports what is left before it exits.
        const spans = await receiver.untilSpans(2);
        // The readiness polls are traced too; the proxied request has a server and a client span.
        const server = spans.find((s) => s.attributes['http.route'] === '/api')!;
        const client = spans.find((s) => s.kind === 'client')!;
        expect(client.parentSpanId).toBe(server.spanId);
        expect(server.resource['service.name']).toBe('edge-under-test');
        expect(upstream.seen.at(-1)!.headers.traceparent).toBe(`00-${server.traceId}-${client.spanId}-01`);
      } finally {
        await receiver.close();
      }
    });

    it('without server.tls.acme the ACME engine (acme-client, axios, node-forge) is never loaded', async () => {
      const { bundled, bin } = await packagesLoaded(['--host', '127.0.0.1'], {
        JWT_SECRET_KEY: 'a-secret-of-at-least-32-characters-long',
        AUTH_SERVICE_URL: upstream.url,
      });
      expect(bin).toBe(true);
      expect(bundled('acme-client')).toBe(false);
    });

    it("the embedded default loads neither Node's own copy of undici nor its web streams", async () => {
      // Both come with an ES import of node:http (its lazy WebSocket export) or with undici's index (its
      // cookie helpers read globalThis.Headers): about 11 MB resident that a gateway never uses.
      const { builtins } = await packagesLoaded(['--host', '127.0.0.1'], {
        JWT_SECRET_KEY: 'a-secret-of-at-least-32-characters-long',
        AUTH_SERVICE_URL: upstream.url,
      });
      expect(builtins).toContain('NativeModule http');
      expect(builtins.filter((m) => /deps\/undici|webstreams/.test(m))).toEqual([]);
    });

    it('the embedded default loads no TLS or HTTP/2 (its targets are plain HTTP)', async () => {
      // OpenSSL's TLS set-up and nghttp2 cost about 4 MB resident; they load with the first TLS or h2 target.
      const { builtins } = await packagesLoaded(['--host', '127.0.0.1'], {
        JWT_SECRET_KEY: 'a-secret-of-at-least-32-characters-long',
        AUTH_SERVICE_URL: upstream.url,
      });
      expect(builtins).toContain('NativeModule http');
      expect(
        builtins.filter((m) => /^NativeModule (tls|https|http2|_tls_wrap|internal\/http2\/core)$/.test(m)),
      ).toEqual([]);
    });

    it('a TLS target loads TLS at its first request, and the request reaches it verified', async () => {
      const pki = await createPki('lucid.test');
      const ca = await pki.createCa();
      const leaf = await pki.issue(ca, { ips: ['127.0.0.1'] });
      const secure = createHttpsServer({ cert: leaf.cert, key: leaf.key }, (req, res) => {
        res.end(`secure ${req.url}`);
      });
      await new Promise<void>((r) => secure.listen(0, '127.0.0.1', r));
      try {
        const config = join(dir, 'lucid-gateway.json');
        await writeFile(
          config,
          JSON.stringify({
            server: { host: '127.0.0.1' },
            logging: { level: 'warn', pretty: false },
            services: {
              api: {
                targets: [`https://127.0.0.1:${(secure.address() as AddressInfo).port}`],
                tls: { ca: await pki.file('ca.pem', ca.cert) },
              },
            },
            routes: [{ prefix: '/api', service: 'api', auth: 'public' }],
          }),
        );
        let body = '';
        const { builtins } = await packagesLoaded(['--config', config], {}, async (port) => {
          const res = await fetch(`http://127.0.0.1:${port}/api/thing`);
          body = await res.text();
        });
        expect(body).toBe('secure /thing');
        expect(builtins).toContain('NativeModule tls');
      } finally {
        secure.closeAllConnections();
        await new Promise((r) => secure.close(r));
        await pki.close();
      }
    });

    it('the http-proxy engine loads http-proxy-3 at its first request and forwards', async () => {
      const config = join(dir, 'lucid-gateway.json');
      await writeFile(
        config,
        JSON.stringify({
          server: { host: '127.0.0.1', engine: 'http-proxy' },
          logging: { level: 'warn', pretty: false },
          services: { api: { targets: [upstream.url] } },
          routes: [{ prefix: '/api', service: 'api', auth: 'public' }],
        }),
      );
      let status = 0;
      const { packages: loaded } = await packagesLoaded(['--config', config], {}, async (port) => {
        const res = await fetch(`http://127.0.0.1:${port}/api/thing`);
        await res.arrayBuffer();
        status = res.status;
      });
      expect(status).toBe(200);
      expect(upstream.seen.length).toBeGreaterThan(0);
      expect(loaded).toContain('http-proxy-3');
      expect(loaded).not.toContain('ioredis');
    });
  },
);
