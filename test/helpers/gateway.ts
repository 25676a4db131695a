import { Writable } from 'node:stream';
import {
  type CreateGatewayOptions,
  createGateway,
  createLogger,
  type Gateway,
  type GatewayPlugin,
} from '@lucid/gateway-core';

export interface RunningGateway {
  url: string;
  port: number;
  gateway: Gateway;
  /** Access-log and other log lines the gateway wrote, parsed. */
  logs: Array<Record<string, unknown>>;
  close(): Promise<void>;
}

/** A memory sink for pino: every line parsed into `lines`. */
export function logSink(): { stream: Writable; lines: Array<Record<string, unknown>> } {
  const lines: Array<Record<string, unknown>> = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, cb) {
      for (const line of chunk.toString().split('\n')) if (line) lines.push(JSON.parse(line));
      cb();
    },
  });
  return { stream, lines };
}

/** Starts a real gateway on a loopback port 0, logging into memory. */
export async function startGateway(
  config: Record<string, unknown>,
  plugins: GatewayPlugin[] = [],
  options: Omit<CreateGatewayOptions, 'plugins'> = {},
): Promise<RunningGateway> {
  const sink = logSink();
  const logger =
    options.logger ?? createLogger({ level: 'info', pretty: false, accessLog: true }, sink.stream);
  const gateway = createGateway(config, { ...options, plugins, logger });
  const { port } = await gateway.listen({ port: 0, host: '127.0.0.1' });
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    gateway,
    logs: sink.lines,
    close: () => gateway.close({ graceMs: 1_000 }),
  };
}
