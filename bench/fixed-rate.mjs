// Open-loop load at a fixed rate, for latency: requests are sent on schedule whether or not
// earlier ones have answered, and latency is counted from the scheduled time (no coordinated
// omission). Prints one JSON line: { sent, errors, p50, p99 } in milliseconds.
//   node fixed-rate.mjs URL RATE SECONDS [header:value ...]
import { Agent, request } from 'node:http';

const [url, rateArg, secondsArg, ...headerArgs] = process.argv.slice(2);
const rate = Number(rateArg);
const seconds = Number(secondsArg);
const headers = Object.fromEntries(
  headerArgs.map((h) => [h.slice(0, h.indexOf(':')), h.slice(h.indexOf(':') + 1)]),
);
const agent = new Agent({ keepAlive: true, maxSockets: 256 });
const target = new URL(url);
const latencies = [];
let errors = 0;
let sent = 0;
const total = rate * seconds;
const start = performance.now();

await new Promise((resolve) => {
  let done = 0;
  const finish = () => {
    if (++done === total) resolve();
  };
  const fire = (scheduled) => {
    const req = request(
      { host: target.hostname, port: target.port, path: target.pathname, headers, agent },
      (res) => {
        res.resume();
        res.on('end', () => {
          if (res.statusCode !== 200) errors++;
          latencies.push(performance.now() - scheduled);
          finish();
        });
      },
    );
    req.on('error', () => {
      errors++;
      finish();
    });
    req.end();
  };
  // A 1 ms timer, not a spin: the generator shares a core with the upstream and must stay idle
  // between sends, or it would add its own latency to everything it measures.
  const tick = () => {
    const now = performance.now();
    const due = Math.min(total, Math.floor(((now - start) / 1000) * rate));
    while (sent < due) fire(start + (sent++ * 1000) / rate);
    if (sent < total) setTimeout(tick, 1);
  };
  tick();
});
agent.destroy();
latencies.sort((a, b) => a - b);
const pct = (p) => latencies[Math.min(latencies.length - 1, Math.floor((p / 100) * latencies.length))] ?? 0;
console.log(JSON.stringify({ sent, errors, p50: pct(50), p99: pct(99) }));
