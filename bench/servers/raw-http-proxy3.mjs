// The thinnest proxy on http-proxy-3: one keep-alive agent, no routing.
import { Agent, createServer } from 'node:http';
import { createProxyServer } from 'http-proxy-3';

const agent = new Agent({ keepAlive: true, maxSockets: 256 });
const proxy = createProxyServer({ target: process.env.UPSTREAM, agent });
proxy.on('error', (_err, _req, res) => {
  res.writeHead?.(502);
  res.end();
});
createServer((req, res) => proxy.web(req, res)).listen(Number(process.env.PORT), '127.0.0.1', () =>
  console.error('ready'),
);
