import { createServer, type IncomingHttpHeaders } from 'node:http';
import type { Socket } from 'node:net';

/** One span as an OTLP/HTTP JSON export carried it, its attributes read into plain values. */
export interface ReceivedSpan {
  traceId: string;
  spanId: string;
  /** Empty for a root span. */
  parentSpanId: string;
  name: string;
  kind: 'internal' | 'server' | 'client' | 'producer' | 'consumer' | 'unspecified';
  attributes: Record<string, string | number | boolean>;
  events: Array<{ name: string; attributes: Record<string, string | number | boolean> }>;
  /** 0 unset, 1 ok, 2 error (OTLP's StatusCode). */
  status: number;
  /** The resource's attributes (`service.name`, ...). */
  resource: Record<string, string | number | boolean>;
}

export interface OtlpReceiver {
  /** The traces endpoint: `http://127.0.0.1:<port>/v1/traces`. */
  url: string;
  spans: ReceivedSpan[];
  /** The headers of every export request. */
  exports: IncomingHttpHeaders[];
  /** Resolves once at least `n` spans arrived. */
  untilSpans(n: number): Promise<ReceivedSpan[]>;
  close(): Promise<void>;
}

const KINDS = ['unspecified', 'internal', 'server', 'client', 'producer', 'consumer'] as const;

interface AnyValue {
  stringValue?: string;
  intValue?: string | number;
  doubleValue?: number;
  boolValue?: boolean;
}
type KeyValues = Array<{ key: string; value: AnyValue }> | undefined;

function attributesOf(list: KeyValues): Record<string, string | number | boolean> {
  const out: Record<string, string | number | boolean> = {};
  for (const { key, value } of list ?? []) {
    if (value.stringValue !== undefined) out[key] = value.stringValue;
    else if (value.intValue !== undefined) out[key] = Number(value.intValue);
    else if (value.doubleValue !== undefined) out[key] = value.doubleValue;
    else if (value.boolValue !== undefined) out[key] = value.boolValue;
  }
  return out;
}

/**
 * A trace collector's OTLP/HTTP receiver (JSON encoding, as `@opentelemetry/exporter-trace-otlp-http`
 * sends it) on a loopback port 0. `hang` keeps every export waiting without an answer, as a collector
 * that accepts connections and never replies.
 */
export async function startOtlpReceiver(opts: { hang?: boolean } = {}): Promise<OtlpReceiver> {
  const spans: ReceivedSpan[] = [];
  const exports: IncomingHttpHeaders[] = [];
  const waiting: Array<{ n: number; resolve: (s: ReceivedSpan[]) => void }> = [];
  const sockets = new Set<Socket>();
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      if (opts.hang) return;
      if (req.method !== 'POST' || req.url !== '/v1/traces') {
        res.writeHead(404).end();
        return;
      }
      exports.push(req.headers);
      const body = JSON.parse(Buffer.concat(chunks).toString()) as {
        resourceSpans?: Array<{
          resource?: { attributes?: KeyValues };
          scopeSpans?: Array<{
            spans?: Array<{
              traceId: string;
              spanId: string;
              parentSpanId?: string;
              name: string;
              kind?: number;
              attributes?: KeyValues;
              events?: Array<{ name: string; attributes?: KeyValues }>;
              status?: { code?: number };
            }>;
          }>;
        }>;
      };
      for (const rs of body.resourceSpans ?? []) {
        const resource = attributesOf(rs.resource?.attributes);
        for (const ss of rs.scopeSpans ?? []) {
          for (const s of ss.spans ?? []) {
            spans.push({
              traceId: s.traceId,
              spanId: s.spanId,
              parentSpanId: s.parentSpanId ?? '',
              name: s.name,
              kind: KINDS[s.kind ?? 0] ?? 'unspecified',
              attributes: attributesOf(s.attributes),
              events: (s.events ?? []).map((e) => ({ name: e.name, attributes: attributesOf(e.attributes) })),
              status: s.status?.code ?? 0,
              resource,
            });
          }
        }
      }
      res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
      for (const w of [...waiting]) {
        if (spans.length >= w.n) {
          waiting.splice(waiting.indexOf(w), 1);
          w.resolve(spans);
        }
      }
    });
  });
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  return {
    url: `http://127.0.0.1:${port}/v1/traces`,
    spans,
    exports,
    untilSpans: (n) =>
      spans.length >= n ? Promise.resolve(spans) : new Promise((resolve) => waiting.push({ n, resolve })),
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
