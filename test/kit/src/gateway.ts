import { Writable } from 'node:stream';
import { dashboard } from '@lucid/dashboard';
import {
  type CreateGatewayOptions,
  createGateway,
  createLogger,
  type Gateway,
  type GatewayConfigInput,
  type GatewayPlugin,
  type Middleware,
  type Route,
} from '@lucid/gateway-core';
import { type OpenApiPlugin, openapi, requestValidation } from '@lucid/openapi';

/** A gateway as the CLI assembles it: with the API reference, whose merged document it can give. */
export type AssembledGateway = Gateway & {
  /** The merged OpenAPI document (see `OpenApiPlugin.document`). */
  openapi: OpenApiPlugin['document'];
};

export interface RunningGateway {
  url: string;
  port: number;
  gateway: AssembledGateway;
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

/**
 * A plugin that authenticates everyone as `anyone`, holding every scope the route asks for: for
 * tests of everything but auth, whose routes core would otherwise refuse (it fails closed). Never
 * for production.
 */
export const allowAnyone: GatewayPlugin = Object.freeze({
  name: 'allow-anyone (test)',
  provides: ['authentication'],
  middleware(route: Route): Middleware | undefined {
    if (route.config.auth === 'public') return undefined;
    const identity = { sub: 'anyone', scopes: new Set(route.config.scopes), claims: { sub: 'anyone' } };
    return async function allowAnyone(ctx, next) {
      ctx.state.identity = identity;
      await next();
    };
  },
});

/**
 * Starts a real gateway on a loopback port 0, logging into memory. Unless a plugin given here
 * authenticates, `allowAnyone` is added, so protected routes forward as they would behind auth.
 * As the CLI does, it adds the API reference (`openapi()`), request validation over its documents
 * (`requestValidation()`) and the dashboard (`dashboard()`) unless
 * plugins of those names are given.
 */
export async function startGateway(
  config: GatewayConfigInput | Record<string, unknown>,
  plugins: GatewayPlugin[] = [],
  options: Omit<CreateGatewayOptions, 'plugins'> & { failClosed?: boolean } = {},
): Promise<RunningGateway> {
  const sink = logSink();
  const { failClosed, ...rest } = options;
  const logger = rest.logger ?? createLogger({ level: 'info', pretty: false, accessLog: true }, sink.stream);
  const authenticates = plugins.some((p) => p.provides?.includes('authentication'));
  const given = authenticates || failClosed ? plugins : [allowAnyone, ...plugins];
  const docs = (given.find((p) => p.name === 'openapi') as OpenApiPlugin | undefined) ?? openapi();
  const all = [
    ...given,
    ...(given.includes(docs) ? [] : [docs]),
    ...(given.some((p) => p.name === 'validation') ? [] : [requestValidation(() => docs.catalog)]),
    ...(given.some((p) => p.name === 'dashboard') ? [] : [dashboard()]),
  ];
  const created = createGateway(config as GatewayConfigInput, { ...rest, plugins: all, logger });
  const document: OpenApiPlugin['document'] = (opts) => docs.document(opts);
  const gateway: AssembledGateway = Object.assign(created, { openapi: document });
  const { port } = await gateway.listen({ port: 0, host: '127.0.0.1' });
  return {
    url: `${(config.server as { tls?: unknown } | undefined)?.tls ? 'https' : 'http'}://127.0.0.1:${port}`,
    port,
    gateway,
    logs: sink.lines,
    close: () => gateway.close({ graceMs: 1_000 }),
  };
}
