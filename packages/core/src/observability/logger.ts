import { type DestinationStream, type Logger, type LoggerOptions, pino } from 'pino';
import type { GatewayConfig } from '../config/schema.js';
import { prettyDestination } from './pretty.js';

export type { Logger };

/** Paths pino censors wherever they appear in a logged object; credentials never reach a log. */
export const REDACTED_PATHS = [
  'req.headers.authorization',
  'req.headers.cookie',
  'headers.authorization',
  'headers.cookie',
  '*.authorization',
  '*.cookie',
  '*["set-cookie"]',
  '*["proxy-authorization"]',
];

export type LoggerOptionsInput = GatewayConfig['logging'] & {
  /** The `name` field on every line; defaults to `lucid-gateway`. */
  name?: string;
  /** More fields on every line (e.g. a worker's id). */
  base?: Record<string, unknown>;
};

/**
 * The one logger factory of the gateway and its CLI: JSON lines (pino), written asynchronously
 * to stdout, or one compact colored line per record when `pretty` is true or `'auto'` on a
 * terminal (with pino-pretty, an optional dependency, installed; JSON lines without it).
 * Pass a `destination` to capture the lines (tests, embedding apps); it is used as given.
 *
 * @example
 * const logger = createLogger(config.logging);
 * logger.info({ port }, 'listening');
 */
export function createLogger(opts: LoggerOptionsInput, destination?: DestinationStream): Logger {
  const { logger, json, flusher } = buildLogger(opts, destination);
  if (flusher) flushers.set(logger, flusher);
  const stream = (logger as unknown as Record<symbol, DestinationStream>)[pino.symbols.streamSym];
  if (stream && json) {
    const base = JSON.stringify({ name: opts.name ?? 'lucid-gateway', ...opts.base });
    rawLines.set(logger, { stream, bindings: `,${base.slice(1, -1)}` });
  }
  return logger;
}

/** Where a logger made here writes, and its base fields as JSON: for lines written without pino's machinery. */
export interface RawLineTarget {
  stream: DestinationStream;
  /** `,"name":"lucid-gateway",...`: the base fields, serialized once. */
  bindings: string;
}

const rawLines = new WeakMap<Logger, RawLineTarget>();
/** The periodic flush of a logger writing to stdout asynchronously. */
const flushers = new WeakMap<Logger, NodeJS.Timeout>();

/**
 * Ends what a logger made by `createLogger` keeps running (its periodic flush), after a last
 * flush; a logger from elsewhere is left alone. Lines logged later are still written.
 */
export function releaseLogger(logger: Logger): void {
  const flusher = flushers.get(logger);
  if (flusher === undefined) return;
  clearInterval(flusher);
  flushers.delete(logger);
  try {
    logger.flush();
  } catch {
    // closed or mid-write: pino's exit flush writes what is left
  }
}
const LEVEL_NAMES = { level: (label: string) => ({ level: label }) };

/** The raw destination of a JSON logger made by `createLogger`, else undefined (a logger from elsewhere). */
export function rawLineTargetOf(logger: Logger): RawLineTarget | undefined {
  return rawLines.get(logger);
}

function buildLogger(
  opts: LoggerOptionsInput,
  destination?: DestinationStream,
): { logger: Logger; json: boolean; flusher?: NodeJS.Timeout } {
  const options: LoggerOptions = {
    level: opts.level,
    base: { name: opts.name ?? 'lucid-gateway', ...opts.base },
    redact: { paths: REDACTED_PATHS, censor: '[redacted]' },
    // Level names rather than numbers, so log pipelines can filter without a lookup table.
    formatters: LEVEL_NAMES,
  };
  if (destination) return { logger: pino(options, destination), json: opts.pretty !== true };
  const pretty = opts.pretty === true || (opts.pretty === 'auto' && process.stdout.isTTY === true);
  if (pretty) {
    const stream = prettyDestination();
    if (stream) return { logger: pino(options, stream), json: false };
    if (opts.pretty === true) {
      pino(options).warn('logging.pretty is on, but pino-pretty is not installed: writing JSON lines');
    }
  }
  // Async writes keep logging off the request's critical path; pino flushes them on exit.
  // Lines are gathered up to 12 KiB per write (one system call for ~60 access lines under load)
  // and flushed at least every 250 ms, so a quiet gateway's lines still appear promptly.
  const stream = pino.destination({ dest: 1, sync: false, minLength: 12 * 1024 });
  const flusher = setInterval(() => {
    try {
      stream.flush();
    } catch {
      // closed or mid-write: the next tick or pino's exit flush writes what is left
    }
  }, 250).unref();
  return { logger: pino(options, stream), json: true, flusher };
}
