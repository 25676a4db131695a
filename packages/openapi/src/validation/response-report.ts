import type { OutgoingHttpHeaders, ServerResponse } from 'node:http';
import { type Counter, counterOn, type PluginSetup } from '@lucid/gateway-core';

type Logger = PluginSetup['logger'];

import { essence, isJson } from './media-type.js';
import type { Operation } from './validator.js';

// One log line per operation per minute at most: a service answering wrong on every request must not flood the log.
const LOG_EVERY_MS = 60_000;

/**
 * Counts the upstream answers that do not match the service's document (`responses: report`),
 * with one warning per operation per minute saying what did not match. The answers themselves go
 * to the client unchanged.
 */
export class ResponseReport {
  readonly #mismatches: Counter;
  readonly #lastLogged = new Map<string, number>();

  constructor(
    setup: Pick<PluginSetup, 'registry' | 'metricPrefix'>,
    private readonly logger: Logger,
  ) {
    this.#mismatches = counterOn(
      setup.registry,
      `${setup.metricPrefix}openapi_response_mismatches_total`,
      "Upstream answers that do not match the service's OpenAPI document (routes with validate.responses: report), by route and operation.",
      ['route', 'operation'],
    );
  }

  /** Checks a finished answer and counts it when it does not match. */
  check(
    routeId: string,
    op: Operation,
    status: number,
    contentType: string | undefined,
    body: Buffer | undefined,
  ): void {
    const problems = op.checkResponse(status, contentType, body);
    if (problems.length === 0) return;
    this.#mismatches.labels(routeId, op.id).inc();
    const now = Date.now();
    const last = this.#lastLogged.get(op.id);
    if (last !== undefined && now - last < LOG_EVERY_MS) return;
    this.#lastLogged.set(op.id, now);
    this.logger.warn(
      { route: routeId, operation: op.id, status, problems: problems.slice(0, 5) },
      "upstream answer does not match the service's OpenAPI document",
    );
  }
}

type WriteHead = ServerResponse['writeHead'];

/**
 * Watches an answer as it is written: its status, its content type, and (when JSON, not encoded,
 * and no larger than `max`) its bytes, handed to `done` once it has all gone out. Only routes that
 * report answers pay for this.
 */
export function watchAnswer(
  res: ServerResponse,
  max: number,
  done: (status: number, contentType: string | undefined, body: Buffer | undefined) => void,
): void {
  let headers: OutgoingHttpHeaders | undefined;
  let keep: boolean | undefined;
  const chunks: Buffer[] = [];
  let size = 0;
  const writeHead = res.writeHead;
  res.writeHead = function watchedWriteHead(this: ServerResponse, ...args: unknown[]) {
    const last = args[args.length - 1];
    if (typeof last === 'object' && last !== null) headers = flatten(last);
    return (writeHead as (...a: unknown[]) => ServerResponse).apply(this, args);
  } as WriteHead;
  const header = (name: string): string | undefined => {
    const v = headers?.[name] ?? res.getHeader(name);
    return v === undefined ? undefined : String(v);
  };
  const collect = (chunk: unknown) => {
    if (keep === undefined) {
      const type = essence(header('content-type'));
      keep = type !== undefined && isJson(type) && header('content-encoding') === undefined;
    }
    if (!keep || chunk === undefined || chunk === null || typeof chunk === 'function') return;
    const buf = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk as string);
    size += buf.length;
    if (size > max) {
      keep = false;
      chunks.length = 0;
      return;
    }
    chunks.push(buf);
  };
  const write = res.write;
  res.write = function watchedWrite(this: ServerResponse, chunk: unknown, ...rest: unknown[]) {
    collect(chunk);
    return (write as (...a: unknown[]) => boolean).call(this, chunk, ...rest);
  } as ServerResponse['write'];
  const end = res.end;
  res.end = function watchedEnd(this: ServerResponse, chunk?: unknown, ...rest: unknown[]) {
    collect(chunk);
    return (end as (...a: unknown[]) => ServerResponse).call(this, chunk, ...rest);
  } as ServerResponse['end'];
  res.once('finish', () => {
    if (keep === undefined) collect(undefined);
    // Too large, encoded or not JSON: the status is still checked.
    done(res.statusCode, header('content-type'), keep ? Buffer.concat(chunks, size) : undefined);
  });
}

/** writeHead's headers, as an object or a flat [name, value, ...] list, by lower-case name. */
function flatten(raw: object): OutgoingHttpHeaders {
  const out: OutgoingHttpHeaders = {};
  if (Array.isArray(raw)) {
    for (let i = 0; i + 1 < raw.length; i += 2) out[String(raw[i]).toLowerCase()] = raw[i + 1];
    return out;
  }
  for (const [k, v] of Object.entries(raw)) out[k.toLowerCase()] = v;
  return out;
}
