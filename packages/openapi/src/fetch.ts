import { readFile, stat } from 'node:fs/promises';
import { resolve } from 'node:path';
import {
  UndiciAgent as Agent,
  type UndiciDispatcher as Dispatcher,
  type RequestOutcome,
  undiciRequest as request,
  speaksHttp2,
  type TlsOptions,
  type UpstreamPool,
} from '@lucid/gateway-core';
import { DocumentError, type OpenApiDoc, parseOpenApi } from './document.js';
import { http2Get } from './http2-get.js';
import type { OpenApiSource } from './schema.js';

export interface FetchLimits {
  /** Milliseconds for the whole fetch: connect, headers and body. */
  timeout: number;
  /** Bytes; a longer document is refused. */
  maxSize: number;
}

/** Where a service's document comes from: its pool (targets, balancing, breakers) and its TLS. */
export interface ServiceSource {
  source: OpenApiSource;
  pool: UpstreamPool | undefined;
  tls: TlsOptions | undefined;
}

/**
 * Reads one service's OpenAPI document: from a file, or with a GET through the service's own pool,
 * so it reaches the same targets with the same TLS as traffic and counts toward their breakers.
 * Bounded in size and time; no redirect is followed (it could lead off the service).
 */
export async function fetchOpenApi(
  from: ServiceSource,
  limits: FetchLimits,
  signal: AbortSignal,
): Promise<OpenApiDoc> {
  if ('file' in from.source) return parseOpenApi(await readBounded(from.source.file, limits.maxSize));
  if (!from.pool) throw new Error('the service has no pool');
  const state = from.pool.pick();
  const http2 = speaksHttp2(from.pool.service);
  const dispatcher: Dispatcher | undefined =
    from.tls && !http2 ? new Agent({ connect: from.tls }) : undefined;
  let outcome: RequestOutcome = 'unavailable';
  let text: string;
  try {
    const url = new URL(from.source.path, state.target.url);
    const deadline = AbortSignal.any([signal, AbortSignal.timeout(limits.timeout)]);
    text = http2
      ? await getBoundedHttp2(url, limits, deadline, from.tls)
      : (await getBounded(url, limits, deadline, dispatcher)).body;
    outcome = 'ok';
  } catch (err) {
    outcome = outcomeOf(err);
    throw err;
  } finally {
    from.pool.release(state, outcome);
    await dispatcher?.close();
  }
  return await parseOpenApi(text);
}

/** How the attempt counts for the target's breaker and outlier state. */
function outcomeOf(err: unknown): RequestOutcome {
  if (err instanceof HttpStatusError) return err.status >= 500 ? 'http-5xx' : 'ok';
  if (err instanceof TooLargeError) return 'ok';
  const name = (err as { name?: string }).name;
  return name === 'TimeoutError' || name === 'HeadersTimeoutError' || name === 'BodyTimeoutError'
    ? 'timeout'
    : 'unavailable';
}

/**
 * Why a fetch failed, in words safe for /health and the document (never an internal address).
 */
export function failureReason(err: unknown): string {
  if (err instanceof HttpStatusError || err instanceof TooLargeError) return err.message;
  const e = err as { name?: string; code?: string; message?: string };
  if (e.name === 'TimeoutError' || e.code === 'UND_ERR_HEADERS_TIMEOUT' || e.code === 'UND_ERR_BODY_TIMEOUT')
    return 'timed out';
  if (e.code === 'ENOENT') return 'file not found';
  if (e.code === 'GW_UPSTREAM_UNAVAILABLE') return 'no target available';
  if (e instanceof DocumentError) return e.message;
  return 'unreachable';
}

class HttpStatusError extends Error {
  constructor(readonly status: number) {
    super(`answered ${status}`);
  }
}

class TooLargeError extends Error {
  constructor(max: number) {
    super(`larger than ${max} bytes`);
  }
}

const ACCEPT = {
  accept: 'application/json, application/yaml;q=0.9, */*;q=0.5',
  'user-agent': 'lucid-gateway',
};

/** The same read from an HTTP/2 service (h2c:// targets or `http2: true`). */
async function getBoundedHttp2(
  url: URL,
  limits: FetchLimits,
  signal: AbortSignal,
  tls: TlsOptions | undefined,
): Promise<string> {
  const answer = await http2Get(url, {
    tls,
    headers: ACCEPT,
    signal,
    maxSize: limits.maxSize,
    tooLarge: () => new TooLargeError(limits.maxSize),
  });
  if (answer.status !== 200) throw new HttpStatusError(answer.status);
  return answer.body.toString('utf8');
}

async function getBounded(
  url: URL,
  limits: FetchLimits,
  signal: AbortSignal,
  dispatcher: Dispatcher | undefined,
): Promise<{ body: string }> {
  const res = await request(url, {
    method: 'GET',
    headers: ACCEPT,
    // A fresh connection, closed after: a fetch every few minutes leaves no idle socket behind.
    reset: true,
    headersTimeout: limits.timeout,
    bodyTimeout: limits.timeout,
    signal,
    ...(dispatcher && { dispatcher }),
  });
  if (res.statusCode !== 200) {
    await res.body.dump();
    throw new HttpStatusError(res.statusCode);
  }
  const declared = Number(res.headers['content-length']);
  if (declared > limits.maxSize) {
    res.body.destroy();
    throw new TooLargeError(limits.maxSize);
  }
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of res.body as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > limits.maxSize) {
      res.body.destroy();
      throw new TooLargeError(limits.maxSize);
    }
    chunks.push(chunk);
  }
  return { body: Buffer.concat(chunks).toString('utf8') };
}

async function readBounded(file: string, maxSize: number): Promise<string> {
  const path = resolve(file);
  if ((await stat(path)).size > maxSize) throw new TooLargeError(maxSize);
  return readFile(path, 'utf8');
}
