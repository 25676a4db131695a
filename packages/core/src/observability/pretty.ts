import { createRequire } from 'node:module';
import type { DestinationStream } from 'pino';
import type PinoPretty from 'pino-pretty';

/** The access line's own fields: on a terminal they make up its message, so they are not repeated. */
const ACCESS_FIELDS = [
  'reqId',
  'method',
  'path',
  'route',
  'status',
  'ms',
  'upstream',
  'bytes',
  'ip',
  'http',
  'grpcStatus',
] as const;
type Colors = Parameters<PinoPretty.MessageFormatFunc>[3]['colors'];

function statusColor(status: number, c: Colors): (s: string) => string {
  if (status >= 500) return c.red;
  if (status >= 400) return c.yellow;
  if (status >= 300) return c.cyan;
  return c.green;
}

/**
 * One compact line per request on a terminal: `GET /admin/users 200 3.1ms -> admin-1 (req 7f3c...)`
 * (`POST /lucid.Echo/Unary 200 grpc-status 14 ...` for a gRPC call).
 * Other lines keep their fields, on the same line.
 */
export const formatMessage: PinoPretty.MessageFormatFunc = (log, messageKey, _level, { colors: c }) => {
  const msg = String(log[messageKey] ?? '');
  if (msg === 'request' && typeof log.status === 'number') {
    const status = statusColor(log.status, c)(String(log.status));
    const upstream = log.upstream ? ` ${c.gray(`-> ${log.upstream}`)}` : '';
    // A gRPC call's own status, which its HTTP 200 does not tell.
    const grpc = typeof log.grpcStatus === 'number' ? ` grpc-status ${log.grpcStatus}` : '';
    return `${c.bold(String(log.method))} ${log.path} ${status}${grpc} ${log.ms}ms${upstream} ${c.gray(`(req ${log.reqId})`)}`;
  }
  // The access fields are hidden from every line; a line that is not an access line gets its own back.
  const own = ACCESS_FIELDS.filter((k) => log[k] !== undefined).map((k) => `${k}=${JSON.stringify(log[k])}`);
  return own.length ? `${msg} ${c.gray(own.join(' '))}` : msg;
};

/**
 * A pretty-printing destination (pino-pretty, an optional dependency), or undefined when it is not
 * installed: it is loaded only here, only when a terminal asks for it, so an embedding app that
 * logs JSON never needs it.
 */
export function prettyDestination(destination?: NodeJS.WritableStream): DestinationStream | undefined {
  let pretty: typeof PinoPretty;
  try {
    pretty = createRequire(import.meta.url)('pino-pretty') as typeof PinoPretty;
  } catch {
    return undefined;
  }
  return pretty({
    // Colors unless the person asked for none (https://no-color.org).
    colorize: !process.env.NO_COLOR,
    translateTime: 'SYS:HH:MM:ss.l',
    ignore: ['pid', 'hostname', 'name', ...ACCESS_FIELDS].join(','),
    singleLine: true,
    messageFormat: formatMessage,
    sync: true,
    ...(destination && { destination }),
  });
}
