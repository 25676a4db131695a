import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { send, startUpstream, type Upstream } from '@lucid/test-kit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

// Runs the example as a user would, against the built core package (the test command builds first).
describe('examples/embedded', () => {
  let upstream: Upstream;
  let child: ReturnType<typeof spawn>;
  let url: string;

  beforeAll(async () => {
    upstream = await startUpstream();
    child = spawn(process.execPath, ['server.mjs'], {
      cwd: fileURLToPath(new URL('.', import.meta.url)),
      env: { ...process.env, PORT: '0', UPSTREAM_URL: upstream.url, LOG_LEVEL: 'warn' },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let out = '';
    for await (const chunk of child.stdout!) {
      out += chunk;
      const m = /"port":(\d+)/.exec(out);
      if (m) {
        url = `http://127.0.0.1:${m[1]}`;
        break;
      }
    }
  });
  afterAll(async () => {
    if (child.exitCode === null) {
      const exited = once(child, 'exit');
      child.kill('SIGTERM');
      await exited;
    }
    await upstream.close();
  });

  it('serves its own pages and proxies through the gateway', async () => {
    expect((await send(`${url}/`)).text).toBe('my app\n');
    const res = await send(`${url}/api/auth/login?x=1`);
    expect(res.status).toBe(200);
    expect(res.json().url).toBe('/login?x=1');
    expect((await send(`${url}/health`)).json()).toMatchObject({
      status: 'healthy',
      services: { auth: true },
    });
  });
});
