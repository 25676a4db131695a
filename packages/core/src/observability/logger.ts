import { type DestinationStream, type Logger, type LoggerOptions, pino } from 'pino';
import type { GatewayConfig } from '../config/schema.js';

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
 * to stdout, or pretty-printed when `pretty` is true or `'auto'` on a terminal.
 * Pass a `destination` to capture the lines (tests, embedding apps); it is used as given.
 *
 * @example
 * const logger = createLogger(config.logging);
 * logger.info({ port }, 'listening');
 */
export function createLogger(opts: LoggerOptionsInput, destination?: DestinationStream): Logger {
  const logger = buildLogger(opts, destination);
  // The access line has fixed fields and never carries headers, so it skips redaction (a measurable
  // share of each request's cost) by going through a sibling logger on the same destination.
  const stream = (logger as unknown as Record<symbol, DestinationStream>)[pino.symbols.streamSym];
  if (stream) {
    accessLoggers.set(
      logger,
      pino(
        {
          level: opts.level,
          base: { name: opts.name ?? 'lucid-gateway', ...opts.base },
          formatters: LEVEL_NAMES,
        },
        stream,
      ),
    );
  }
  return logger;
}

const accessLoggers = new WeakMap<Logger, Logger>();
const LEVEL_NAMES = { level: (label: string) => ({ level: label }) };

/** The logger for access lines: the unredacted sibling of a logger made here, else the logger itself. */
export function accessLoggerOf(logger: Logger): Logger {
  return accessLoggers.get(logger) ?? logger;
}

function buildLogger(opts: LoggerOptionsInput, destination?: DestinationStream): Logger {
  const options: LoggerOptions = {
    level: opts.level,
    base: { name: opts.name ?? 'lucid-gateway', ...opts.base },
    redact: { paths: REDACTED_PATHS, censor: '[redacted]' },
    // Level names rather than numbers, so log pipelines can filter without a lookup table.
    formatters: LEVEL_NAMES,
  };
  if (destination) return pino(options, destination);
  const pretty = opts.pretty === true || (opts.pretty === 'auto' && process.stdout.isTTY === true);
  if (pretty) {
    return pino({
      ...options,
      transport: {
        target: 'pino-pretty',
        options: { colorize: true, translateTime: 'SYS:HH:MM:ss.l', ignore: 'pid,hostname,name' },
      },
    });
  }
  // Async writes keep logging off the request's critical path; pino flushes them on exit.
  return pino(options, pino.destination({ dest: 1, sync: false }));
}
