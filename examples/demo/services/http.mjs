// What the stand-in services share: JSON in and out, and a server that closes cleanly.
import { createServer } from 'node:http';

/** Sends `body` as JSON. */
export function json(res, status, body, headers = {}) {
  const text = `${JSON.stringify(body)}\n`;
  res.writeHead(status, {
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(text),
    ...headers,
  });
  res.end(text);
}

/** Reads a small JSON body; resolves undefined when it is empty or not JSON. */
export async function readJson(req, limit = 64 * 1024) {
  let size = 0;
  const chunks = [];
  for await (const chunk of req) {
    size += chunk.length;
    if (size > limit) return undefined;
    chunks.push(chunk);
  }
  try {
    return chunks.length > 0 ? JSON.parse(Buffer.concat(chunks).toString()) : undefined;
  } catch {
    return undefined;
  }
}

/**
 * What the gateway told the service about this request: the path it forwarded (its prefix
 * stripped), the verified caller (identity headers come only from a checked token) and the request id.
 */
export function via(req) {
  return {
    path: req.url,
    user: req.headers['x-user-id'] ?? null,
    tier: req.headers['x-user-tier'] ?? null,
    requestId: req.headers['x-request-id'] ?? null,
  };
}

/**
 * A tiny router: `routes` maps "METHOD /path" (":name" matches one segment) to a handler
 * `(req, res, params) => void`. Every service answers GET /health, and GET /openapi.json with
 * `openapi` when it is given.
 */
export function router(name, routes, openapi) {
  const table = Object.entries(routes).map(([key, handler]) => {
    const [method, pattern] = key.split(' ');
    return { method, parts: pattern.split('/').filter(Boolean), handler };
  });
  return async function handle(req, res) {
    const url = new URL(req.url ?? '/', 'http://service');
    const parts = url.pathname.split('/').filter(Boolean);
    if (req.method === 'GET' && url.pathname === '/health')
      return json(res, 200, { status: 'ok', service: name });
    if (openapi && req.method === 'GET' && url.pathname === '/openapi.json') return json(res, 200, openapi);
    let pathMatched = false;
    for (const route of table) {
      if (route.parts.length !== parts.length) continue;
      const params = {};
      const ok = route.parts.every((p, i) => {
        if (p.startsWith(':')) params[p.slice(1)] = decodeURIComponent(parts[i]);
        return p.startsWith(':') || p === parts[i];
      });
      if (!ok) continue;
      pathMatched = true;
      if (route.method !== req.method) continue;
      return route.handler(req, res, params, url);
    }
    json(res, pathMatched ? 405 : 404, {
      error: pathMatched ? 'method_not_allowed' : 'not_found',
      service: name,
    });
  };
}

/** Starts `handler` on `port` (0: any free port). Resolves `{ url, port, close }`. */
export function listen(handler, { port = 0, host = '127.0.0.1' } = {}) {
  const server = createServer((req, res) => {
    Promise.resolve(handler(req, res)).catch((err) => {
      if (!res.headersSent) json(res, 500, { error: 'internal', detail: err.message });
      else res.destroy(err);
    });
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      const { port: bound } = server.address();
      resolve({
        url: `http://${host.includes(':') ? `[${host}]` : host}:${bound}`,
        port: bound,
        close: () =>
          new Promise((done) => {
            server.close(() => done());
            server.closeAllConnections();
          }),
      });
    });
  });
}
