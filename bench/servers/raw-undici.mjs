// The thinnest proxy on undici: one Pool, the answer streamed into the response.
import { createServer } from 'node:http';
import { Pool } from 'undici';

const pool = new Pool(process.env.UPSTREAM, { connections: 256 });
createServer((req, res) => {
  pool.stream(
    {
      path: req.url,
      method: req.method,
      headers: { host: req.headers.host },
      body: req.method === 'GET' ? null : req,
    },
    ({ statusCode, headers }) => {
      res.writeHead(statusCode, headers);
      return res;
    },
    (err) => {
      if (err && !res.headersSent) {
        res.writeHead(502);
        res.end();
      }
    },
  );
}).listen(Number(process.env.PORT), '127.0.0.1', () => console.error('ready'));
