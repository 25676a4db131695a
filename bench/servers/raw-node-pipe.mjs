// The thinnest proxy on node:http: request + pipe both ways over a keep-alive agent.
import { Agent, createServer, request } from 'node:http';

const target = new URL(process.env.UPSTREAM);
const agent = new Agent({ keepAlive: true, maxSockets: 256 });
createServer((req, res) => {
  const up = request(
    {
      host: target.hostname,
      port: target.port,
      path: req.url,
      method: req.method,
      headers: req.headers,
      agent,
    },
    (upRes) => {
      res.writeHead(upRes.statusCode, upRes.headers);
      upRes.pipe(res);
    },
  );
  up.on('error', () => {
    res.writeHead(502);
    res.end();
  });
  req.pipe(up);
}).listen(Number(process.env.PORT), '127.0.0.1', () => console.error('ready'));
