// The upstream scripts/test-image.sh puts behind the container: it echoes every request as JSON, and
// holds requests whose path ends in /slow until the script releases them, so a drain can be tested
// with a request provably in flight (no sleeps). Prints its port, then serves until SIGTERM.
//
//   GET  /__held     how many /slow requests are waiting
//   POST /__release  answers them all
import { createServer } from 'node:http';

const held = [];

const server = createServer((req, res) => {
  if (req.url === '/__held') return res.end(String(held.length));
  if (req.url === '/__release') {
    for (const waiting of held.splice(0)) waiting.end(JSON.stringify({ url: waiting.url, released: true }));
    return res.end('released');
  }
  const body = JSON.stringify({ url: req.url, headers: req.headers });
  res.setHeader('content-type', 'application/json');
  if (req.url.split('?')[0].endsWith('/slow')) {
    res.url = req.url;
    held.push(res);
    return;
  }
  res.end(body);
});

server.listen(0, '127.0.0.1', () => console.log(server.address().port));
process.on('SIGTERM', () => {
  server.closeAllConnections();
  server.close(() => process.exit(0));
});
