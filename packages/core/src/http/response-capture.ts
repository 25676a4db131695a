import type { OutgoingHttpHeaders, ServerResponse } from 'node:http';

/** An answer written instead of the one being relayed (e.g. a stored body after a `304`). */
export interface ReplacementAnswer {
  status: number;
  headers: OutgoingHttpHeaders;
  body?: Buffer | undefined;
}

/**
 * Watches one response as an engine writes it. `head` sees the status and headers once, before they
 * go out, and may return an answer to write instead: the relayed head and body are then held back
 * (still shown to `data`) and the replacement is written when the relayed body ends.
 */
export interface ResponseObserver {
  head(status: number, headers: OutgoingHttpHeaders): ReplacementAnswer | undefined;
  data(chunk: Buffer): void;
  /** The relayed body ended (`end()` was called); not called when the response was cut. */
  end(): void;
}

type Callback = (err?: Error | null) => void;
/** The three methods as own properties of one response, so they can be put on it and taken off again. */
type Wrapped = { writeHead?: unknown; write?: unknown; end?: unknown };

const toBuffer = (chunk: unknown, encoding: unknown): Buffer =>
  Buffer.isBuffer(chunk)
    ? chunk
    : typeof chunk === 'string'
      ? Buffer.from(chunk, typeof encoding === 'string' ? (encoding as BufferEncoding) : 'utf8')
      : Buffer.from(chunk as Uint8Array);

/** The headers `writeHead(status, [reason], [headers])` will send: those set before, then its own. */
function headersOf(res: ServerResponse, args: unknown[]): OutgoingHttpHeaders {
  const out: OutgoingHttpHeaders = { ...res.getHeaders() };
  const given = typeof args[1] === 'string' ? args[2] : args[1];
  if (Array.isArray(given)) {
    // Flat [name, value, name, value] or [[name, value], ...], as Node accepts.
    if (Array.isArray(given[0])) for (const [k, v] of given as [string, string][]) out[k.toLowerCase()] = v;
    else for (let i = 0; i + 1 < given.length; i += 2) out[String(given[i]).toLowerCase()] = given[i + 1];
  } else if (given && typeof given === 'object') {
    for (const [k, v] of Object.entries(given)) if (v !== undefined) out[k.toLowerCase()] = v;
  }
  return out;
}

/**
 * Lets a middleware see (and, once, replace) the answer that the proxy writes into `res`, whatever
 * engine writes it: it wraps the response's own `writeHead`, `write` and `end`. Returns a function
 * that takes the wrappers off.
 *
 * @example
 * const release = captureResponse(ctx.res, { head: (s, h) => undefined, data: (c) => parts.push(c), end: () => {} });
 * try { await next(); } finally { release(); }
 */
export function captureResponse(res: ServerResponse, observer: ResponseObserver): () => void {
  const r = res as unknown as Wrapped;
  const writeHead = res.writeHead;
  const write = res.write;
  const end = res.end;
  let seen = false;
  let replacement: ReplacementAnswer | undefined;

  const release = () => {
    delete r.writeHead;
    delete r.write;
    delete r.end;
  };

  const onHead = (args: unknown[]): boolean => {
    if (seen) return replacement === undefined;
    seen = true;
    const status = typeof args[0] === 'number' ? args[0] : res.statusCode;
    replacement = observer.head(status, headersOf(res, args));
    return replacement === undefined;
  };

  r.writeHead = function capturedWriteHead(this: ServerResponse, ...args: unknown[]) {
    if (onHead(args)) return (writeHead as (...a: unknown[]) => ServerResponse).apply(this, args);
    return this;
  };

  r.write = function capturedWrite(this: ServerResponse, chunk: unknown, encoding?: unknown, cb?: unknown) {
    if (!seen) onHead([]);
    if (chunk != null && (chunk as { length?: number }).length !== 0)
      observer.data(toBuffer(chunk, encoding));
    if (replacement === undefined)
      return (write as (...a: unknown[]) => boolean).call(this, chunk, encoding, cb);
    const done = (typeof encoding === 'function' ? encoding : cb) as Callback | undefined;
    if (done) process.nextTick(done);
    return true;
  };

  r.end = function capturedEnd(this: ServerResponse, chunk?: unknown, encoding?: unknown, cb?: unknown) {
    if (typeof chunk === 'function') {
      cb = chunk;
      chunk = undefined;
    } else if (typeof encoding === 'function') {
      cb = encoding;
      encoding = undefined;
    }
    if (!seen) onHead([]);
    if (chunk != null && (chunk as { length?: number }).length !== 0)
      observer.data(toBuffer(chunk, encoding));
    observer.end();
    release();
    if (replacement === undefined)
      return (end as (...a: unknown[]) => ServerResponse).call(this, chunk, encoding, cb);
    // What was set before writeHead (http-proxy-3 sets the upstream's headers one by one) is not the replacement's.
    if (!this.headersSent) for (const name of this.getHeaderNames()) this.removeHeader(name);
    this.writeHead(replacement.status, replacement.headers);
    return this.end(replacement.body, cb as Callback | undefined);
  };

  return release;
}
