// Small helpers shared by the bench scripts.
import { execFileSync } from 'node:child_process';
import { createServer } from 'node:net';

/** A loopback port that was free a moment ago. */
export async function freePort() {
  const srv = createServer();
  await new Promise((r) => srv.listen(0, '127.0.0.1', r));
  const { port } = srv.address();
  await new Promise((r) => srv.close(r));
  return port;
}

/** Whether a command is on the PATH. */
export function has(cmd) {
  try {
    execFileSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}
