import { fileURLToPath } from 'node:url';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';

const PROTO = (name: string) => fileURLToPath(new URL(`../grpc/${name}.proto`, import.meta.url));

const definition = protoLoader.loadSync([PROTO('echo'), PROTO('health')], {
  longs: Number,
  defaults: true,
  bytes: Buffer,
});
// biome-ignore lint/suspicious/noExplicitAny: generated at run time from the .proto files.
const loaded = grpc.loadPackageDefinition(definition) as any;
const EchoService = loaded.lucid.test.Echo as grpc.ServiceClientConstructor;
const HealthService = loaded.grpc.health.v1.Health as grpc.ServiceClientConstructor;

export { grpc };

/** What every kind of server call has (grpc-js does not export the name). */
interface SurfaceCall {
  readonly metadata: grpc.Metadata;
  sendMetadata(m: grpc.Metadata): void;
  getPath(): string;
  getDeadline(): grpc.Deadline;
  on(event: 'cancelled', listener: () => void): unknown;
}

export interface EchoRequest {
  text?: string;
  payload?: Buffer;
  count?: number;
}

export interface EchoReply {
  text: string;
  payload: Buffer;
  index: number;
  receivedBytes: number;
}

/** What a call to the test server carried, as the server saw it. */
export interface SeenCall {
  path: string;
  metadata: Record<string, unknown>;
  /** Milliseconds the call had left when it arrived (from its grpc-timeout), or undefined without one. */
  timeLeft: number | undefined;
}

export interface GrpcServer {
  /** `host:port`, as grpc-js clients take it. */
  address: string;
  /** The target URL for the gateway's config: `h2c://127.0.0.1:port`, or `https://` with TLS. */
  url: string;
  port: number;
  calls: SeenCall[];
  /** The health service's answer for a service name ('' is the server as a whole). */
  setHealth(service: string, status: 'SERVING' | 'NOT_SERVING' | 'UNKNOWN'): void;
  /** Calls whose handler is still waiting (the `x-hang` ones), until the caller cancels them. */
  hanging(): number;
  close(): Promise<void>;
}

/**
 * A real grpc-js server with the Echo and Health services on 127.0.0.1:0 (h2c, or TLS with `tls`).
 * Request metadata steers it: `x-hang` never answers (until cancelled), `x-stall` streams its
 * replies and then never ends, `x-fail: <code>` fails with
 * that status; every call answers with initial metadata `x-echo` (the request's) and trailers
 * `x-trailer: done` and a binary `x-trailer-bin`.
 *
 * @example
 * const upstream = await startGrpcServer();
 * try { ... } finally { await upstream.close(); }
 */
export async function startGrpcServer(
  opts: { tls?: { cert: string; key: string } } = {},
): Promise<GrpcServer> {
  const calls: SeenCall[] = [];
  const health = new Map<string, string>([['', 'SERVING']]);
  const waiting = new Set<SurfaceCall>();
  const server = new grpc.Server({
    'grpc.max_receive_message_length': 16 * 1024 * 1024,
    'grpc.max_send_message_length': 16 * 1024 * 1024,
  });

  function seen(call: SurfaceCall): boolean {
    const deadline = call.getDeadline();
    const at = deadline instanceof Date ? deadline.getTime() : deadline;
    calls.push({
      path: call.getPath(),
      metadata: call.metadata.getMap(),
      timeLeft: Number.isFinite(at) ? at - Date.now() : undefined,
    });
    const echo = call.metadata.get('x-echo');
    const initial = new grpc.Metadata();
    if (echo.length > 0) initial.set('x-echo', String(echo[0]));
    call.sendMetadata(initial);
    if (call.metadata.get('x-hang').length > 0) {
      waiting.add(call);
      call.on('cancelled', () => waiting.delete(call));
      return false;
    }
    return true;
  }
  function trailers(): grpc.Metadata {
    const m = new grpc.Metadata();
    m.set('x-trailer', 'done');
    m.set('x-trailer-bin', Buffer.from([0, 1, 2, 255]));
    return m;
  }
  function failure(call: SurfaceCall): grpc.ServiceError | undefined {
    const code = call.metadata.get('x-fail')[0];
    if (code === undefined) return undefined;
    const err = new Error('failed on purpose: é%') as grpc.ServiceError;
    err.code = Number(code);
    err.details = 'failed on purpose: é%';
    err.metadata = trailers();
    return err;
  }
  const reply = (req: EchoRequest, index = 0): EchoReply => ({
    text: req.text ?? '',
    payload: req.payload ?? Buffer.alloc(0),
    index,
    receivedBytes: req.payload?.length ?? 0,
  });

  server.addService(EchoService.service, {
    Unary(call: grpc.ServerUnaryCall<EchoRequest, EchoReply>, cb: grpc.sendUnaryData<EchoReply>) {
      if (!seen(call)) return;
      const err = failure(call);
      if (err) return cb(err);
      cb(null, reply(call.request), trailers());
    },
    ServerStream(call: grpc.ServerWritableStream<EchoRequest, EchoReply>) {
      if (!seen(call)) return;
      const err = failure(call);
      if (err) return call.destroy(err);
      const n = call.request.count || 1;
      for (let i = 0; i < n; i++) call.write(reply(call.request, i));
      // `x-stall`: the replies went out, the end never comes (until the caller or the server goes).
      if (call.metadata.get('x-stall').length > 0) {
        waiting.add(call);
        call.on('cancelled', () => waiting.delete(call));
        return;
      }
      call.end(trailers());
    },
    ClientStream(call: grpc.ServerReadableStream<EchoRequest, EchoReply>, cb: grpc.sendUnaryData<EchoReply>) {
      if (!seen(call)) return;
      let count = 0;
      let bytes = 0;
      const texts: string[] = [];
      call.on('data', (m: EchoRequest) => {
        count++;
        bytes += m.payload?.length ?? 0;
        texts.push(m.text ?? '');
      });
      call.on('end', () => {
        const err = failure(call);
        if (err) return cb(err);
        cb(
          null,
          { text: texts.join(','), payload: Buffer.alloc(0), index: count, receivedBytes: bytes },
          trailers(),
        );
      });
    },
    Bidi(call: grpc.ServerDuplexStream<EchoRequest, EchoReply>) {
      if (!seen(call)) return;
      let i = 0;
      call.on('data', (m: EchoRequest) => call.write(reply(m, i++)));
      call.on('end', () => call.end(trailers()));
    },
  });
  server.addService(HealthService.service, {
    Check(
      call: grpc.ServerUnaryCall<{ service: string }, { status: string }>,
      cb: grpc.sendUnaryData<{ status: string }>,
    ) {
      calls.push({
        path: '/grpc.health.v1.Health/Check',
        metadata: call.metadata.getMap(),
        timeLeft: undefined,
      });
      const status = health.get(call.request.service);
      if (status === undefined) return cb({ code: grpc.status.NOT_FOUND, details: 'unknown service' });
      cb(null, { status });
    },
  });

  const credentials = opts.tls
    ? grpc.ServerCredentials.createSsl(null, [
        { private_key: Buffer.from(opts.tls.key), cert_chain: Buffer.from(opts.tls.cert) },
      ])
    : grpc.ServerCredentials.createInsecure();
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync('127.0.0.1:0', credentials, (err, p) => (err ? reject(err) : resolve(p))),
  );
  const address = `127.0.0.1:${port}`;
  return {
    address,
    url: `${opts.tls ? 'https' : 'h2c'}://${address}`,
    port,
    calls,
    setHealth(service, status) {
      health.set(service, status);
    },
    hanging: () => waiting.size,
    close: () =>
      new Promise<void>((resolve) => {
        server.forceShutdown();
        resolve();
      }),
  };
}

// biome-ignore lint/suspicious/noExplicitAny: the generated client's methods are untyped.
export type EchoClient = grpc.Client & Record<string, any>;

/**
 * A grpc-js client of the Echo service at `host:port` (TLS when `ca` is given). Close it with `client.close()`.
 *
 * @example
 * const client = echoClient(gateway.address, { ca });
 * try { await unary(client, { text: 'hi' }); } finally { client.close(); }
 */
export function echoClient(address: string, opts: { ca?: string; servername?: string } = {}): EchoClient {
  const credentials = opts.ca
    ? grpc.credentials.createSsl(Buffer.from(opts.ca))
    : grpc.credentials.createInsecure();
  return new EchoService(address, credentials, {
    'grpc.max_receive_message_length': 16 * 1024 * 1024,
    'grpc.max_send_message_length': 16 * 1024 * 1024,
    ...(opts.servername && { 'grpc.ssl_target_name_override': opts.servername }),
  }) as EchoClient;
}

/** How a call ended: its status, message, the initial metadata and the trailers the client read. */
export interface CallResult<T> {
  code: number;
  details: string;
  replies: T[];
  headers: grpc.Metadata | undefined;
  trailers: grpc.Metadata | undefined;
}

export interface CallOptions {
  metadata?: Record<string, string>;
  /** Milliseconds from now. */
  deadlineMs?: number;
}

function metadataOf(values: Record<string, string> = {}): grpc.Metadata {
  const m = new grpc.Metadata();
  for (const [k, v] of Object.entries(values)) m.set(k, v);
  return m;
}

function optionsOf(opts: CallOptions): grpc.CallOptions {
  return opts.deadlineMs === undefined ? {} : { deadline: Date.now() + opts.deadlineMs };
}

/**
 * Runs one call of any kind and resolves with how it ended (never rejects on a gRPC status).
 * `send` are the request messages (one for unary and server streaming).
 */
export function call(
  client: EchoClient,
  method: 'Unary' | 'ServerStream' | 'ClientStream' | 'Bidi',
  send: EchoRequest[],
  opts: CallOptions = {},
): Promise<CallResult<EchoReply>> {
  return new Promise((resolve) => {
    const replies: EchoReply[] = [];
    let headers: grpc.Metadata | undefined;
    const md = metadataOf(opts.metadata);
    const options = optionsOf(opts);
    const done = (status: grpc.StatusObject) =>
      resolve({ code: status.code, details: status.details, replies, headers, trailers: status.metadata });
    // biome-ignore lint/suspicious/noExplicitAny: grpc-js' call objects differ per kind; each emits these events.
    let stream: any;
    const onReply = (err: grpc.ServiceError | null, reply?: EchoReply) => {
      if (!err && reply) replies.push(reply);
    };
    if (method === 'Unary') stream = client.Unary(send[0], md, options, onReply);
    else if (method === 'ServerStream') stream = client.ServerStream(send[0], md, options);
    else if (method === 'ClientStream') stream = client.ClientStream(md, options, onReply);
    else stream = client.Bidi(md, options);
    stream.on('metadata', (m: grpc.Metadata) => {
      headers = m;
    });
    stream.on('data', (r: EchoReply) => replies.push(r));
    stream.on('error', () => {});
    stream.on('status', done);
    if (method === 'ClientStream' || method === 'Bidi') {
      for (const m of send) stream.write(m);
      stream.end();
    }
  });
}

/** A grpc-js Health client, for checks against the test server directly. */
export function healthClient(address: string): grpc.Client & Record<string, unknown> {
  return new HealthService(address, grpc.credentials.createInsecure()) as grpc.Client &
    Record<string, unknown>;
}

/** protobufjs' own encoding of the health messages (via the .proto), to check hand-written codecs against. */
export const healthMessages = {
  request: (service: string): Buffer => HealthService.service.Check!.requestSerialize({ service }),
  readRequest: (bytes: Buffer): unknown => HealthService.service.Check!.requestDeserialize(bytes),
  response: (status: 'UNKNOWN' | 'SERVING' | 'NOT_SERVING' | 'SERVICE_UNKNOWN'): Buffer =>
    HealthService.service.Check!.responseSerialize({ status }),
};

/** protobufjs' encoding and decoding of Echo messages (unframed), for gRPC-Web calls made by hand. */
export const echoMessages = {
  request: (m: EchoRequest): Buffer => EchoService.service.Unary!.requestSerialize(m),
  reply: (bytes: Buffer): EchoReply => EchoService.service.Unary!.responseDeserialize(bytes) as EchoReply,
};
