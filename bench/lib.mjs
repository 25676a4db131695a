// Small helpers shared by the bench scripts.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
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

/** Resident set now and its peak (VmRSS, VmHWM) of a process, in MB, from /proc (Linux). */
export function memoryOf(pid) {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const mb = (key) => {
      const m = new RegExp(`${key}:\\s+(\\d+) kB`).exec(status);
      return m ? Number(m[1]) / 1024 : undefined;
    };
    return { rss: mb('VmRSS'), peak: mb('VmHWM') };
  } catch {
    return { rss: undefined, peak: undefined };
  }
}

/** CPU seconds (user + system) a process has used so far, from /proc (Linux). */
export function cpuSeconds(pid) {
  try {
    // The command name (field 2) may hold spaces: count from the closing parenthesis.
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / 100; // utime, stime in clock ticks (USER_HZ = 100)
  } catch {
    return undefined;
  }
}

/**
 * Least-squares slope of y over x for points `[x, y]` (e.g. minutes and MB: MB per minute).
 * Undefined with fewer than two distinct x.
 */
export function slope(points) {
  const n = points.length;
  if (n < 2) return undefined;
  const mx = points.reduce((a, [x]) => a + x, 0) / n;
  const my = points.reduce((a, [, y]) => a + y, 0) / n;
  let sxy = 0;
  let sxx = 0;
  for (const [x, y] of points) {
    sxy += (x - mx) * (y - my);
    sxx += (x - mx) ** 2;
  }
  return sxx === 0 ? undefined : sxy / sxx;
}

/**
 * Resolves once `url` answers 200 (the gateway's /health/ready), polling every few milliseconds so
 * the measured start time is not rounded up by the poll. Rejects when the process exits first or
 * after `timeoutMs`.
 */
export async function waitForReady(url, child, timeoutMs = 30_000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (child.exitCode !== null || child.signalCode !== null) throw new Error(`exited before ready (${url})`);
    try {
      const res = await fetch(url, { signal: AbortSignal.timeout(1_000) });
      await res.arrayBuffer();
      if (res.status === 200) return;
    } catch {
      // Not listening yet.
    }
    if (Date.now() > deadline) throw new Error(`not ready within ${timeoutMs} ms (${url})`);
    await new Promise((r) => setTimeout(r, 5));
  }
}
