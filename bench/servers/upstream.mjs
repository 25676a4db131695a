// The one upstream every contender forwards to: a small JSON answer, keep-alive on.
import { createServer } from 'node:http';

const body = JSON.stringify({ ok: true, service: 'bench-upstream', items: [1, 2, 3, 4, 5, 6, 7, 8] });
const server = createServer((req, res) => {
  req.resume();
  req.on('end', () => {
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
    res.end(body);
  });
});
server.keepAliveTimeout = 65_000;
server.listen(Number(process.env.PORT), '127.0.0.1', () => console.error('ready'));
