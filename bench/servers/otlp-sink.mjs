// A trace collector's OTLP/HTTP receiver for the bench: takes every export, answers 200, counts spans.
import { createServer } from 'node:http';

let batches = 0;
const server = createServer((req, res) => {
  req.resume();
  req.on('end', () => {
    batches++;
    res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
  });
});
server.keepAliveTimeout = 65_000;
server.listen(Number(process.env.PORT), '127.0.0.1', () => console.error('ready'));
process.once('SIGTERM', () => {
  console.error(`otlp-sink: ${batches} batches`);
  process.exit(0);
});
