import {
  type AttemptTrace,
  type GatewayContext,
  isGatewayError,
  type RequestTrace,
  type RequestTracer,
  type Target,
  type UpstreamAttempt,
} from '@lucid/gateway-core';
import type * as Api from '@opentelemetry/api';

// W3C Trace Context level 1, version 00 (as core checks it): ids of all zeros are invalid.
const TRACEPARENT = /^00-((?!0{32})[0-9a-f]{32})-((?!0{16})[0-9a-f]{16})-([0-9a-f]{2})$/;

// Semantic conventions: other methods are reported as `_OTHER`, with the original beside it.
const KNOWN_METHODS = new Set([
  'GET',
  'HEAD',
  'POST',
  'PUT',
  'DELETE',
  'CONNECT',
  'OPTIONS',
  'TRACE',
  'PATCH',
  'QUERY',
]);
const AUTH_FAILURES = new Set(['GW_UNAUTHORIZED', 'GW_FORBIDDEN']);

const SERVER = 1; // SpanKind.SERVER
const CLIENT = 2; // SpanKind.CLIENT
const ERROR = 2; // SpanStatusCode.ERROR

function traceparentOf(span: Api.SpanContext): string {
  return `00-${span.traceId}-${span.spanId}-${span.traceFlags & 1 ? '01' : '00'}`;
}

function methodAttributes(method: string): Api.Attributes {
  return KNOWN_METHODS.has(method)
    ? { 'http.request.method': method }
    : { 'http.request.method': '_OTHER', 'http.request.method_original': method };
}

/**
 * The gateway's tracer: a server span per request, parented on a well-formed incoming `traceparent`
 * (whose sampled flag the parent-based sampler follows), and a client span per upstream attempt.
 * A span that is not sampled records nothing: only its ids travel on.
 */
export class OtelRequestTracer implements RequestTracer {
  constructor(
    readonly tracer: Api.Tracer,
    readonly api: typeof Api,
  ) {}

  start(ctx: GatewayContext): RequestTrace {
    const { api } = this;
    const incoming = ctx.req.headers.traceparent;
    const parsed = typeof incoming === 'string' ? TRACEPARENT.exec(incoming) : null;
    const parent = parsed
      ? api.trace.setSpanContext(api.ROOT_CONTEXT, {
          traceId: parsed[1]!,
          spanId: parsed[2]!,
          traceFlags: Number.parseInt(parsed[3]!, 16) & 1,
          isRemote: true,
        })
      : api.ROOT_CONTEXT;
    const method = ctx.req.method ?? 'GET';
    const span = this.tracer.startSpan(method, { kind: SERVER }, parent);
    if (span.isRecording()) {
      const socket = ctx.req.socket;
      span.setAttributes({
        ...methodAttributes(method),
        'url.scheme': ctx.protocol,
        'client.address': ctx.clientIp,
        'network.peer.address': socket?.remoteAddress ?? '',
        'network.protocol.version': ctx.req.httpVersion,
      });
    }
    return new OtelRequestTrace(this, span, ctx);
  }
}

class OtelRequestTrace implements RequestTrace {
  readonly traceId: string;
  readonly spanId: string;
  readonly #recording: boolean;

  constructor(
    private readonly owner: OtelRequestTracer,
    private readonly span: Api.Span,
    private readonly ctx: GatewayContext,
  ) {
    const sc = span.spanContext();
    this.traceId = sc.traceId;
    this.spanId = sc.spanId;
    this.#recording = span.isRecording();
    // Until an upstream attempt begins, the request's own span is the one to name downstream.
    ctx.traceparent = traceparentOf(sc);
  }

  attempt(target: Target, attempt: UpstreamAttempt): AttemptTrace {
    const { api, tracer } = this.owner;
    const method = this.ctx.req.method ?? 'GET';
    const span = tracer.startSpan(method, { kind: CLIENT }, api.trace.setSpan(api.ROOT_CONTEXT, this.span));
    if (span.isRecording()) {
      const route = this.ctx.route;
      const url = target.url;
      span.setAttributes({
        ...methodAttributes(method),
        'server.address': url.hostname,
        'server.port': Number(url.port) || (url.protocol === 'https:' ? 443 : 80),
        // Never the query: it may carry credentials.
        'url.full': `${url.origin}${route?.upstreamPath ?? ''}`,
        'lucid.target': target.id,
        'lucid.attempt': attempt.number,
        'lucid.breaker.state': attempt.breaker,
        ...(route?.route.kind === 'proxy' && { 'lucid.service': route.route.serviceName }),
        ...(attempt.number > 1 && { 'http.request.resend_count': attempt.number - 1 }),
        ...(attempt.retryReason !== undefined && { 'lucid.retry_reason': attempt.retryReason }),
      });
    }
    return new AttemptSpan(span);
  }

  failed(error: unknown): void {
    if (!this.#recording) return;
    if (!isGatewayError(error)) {
      this.span.setAttribute('error.type', (error as Error)?.name ?? 'Error');
      return;
    }
    const code = error.code;
    this.span.setAttribute('lucid.error.code', code);
    if (AUTH_FAILURES.has(code)) {
      const reason = (error.cause as { reason?: unknown } | undefined)?.reason;
      this.span.addEvent('lucid.auth.failed', {
        'lucid.error.code': code,
        ...(typeof reason === 'string' && { 'lucid.auth.reason': reason }),
      });
    } else if (code === 'GW_RATE_LIMITED') {
      const tier = this.ctx.state.identity?.tier;
      const retryAfter = error.extra?.retryAfter;
      this.span.addEvent('lucid.rate_limit.rejected', {
        ...(typeof tier === 'string' && { 'lucid.tier': tier }),
        ...(typeof retryAfter === 'number' && { 'lucid.retry_after_s': retryAfter }),
      });
    }
  }

  end(ctx: GatewayContext, status: number): void {
    const span = this.span;
    if (this.#recording) {
      const matched = ctx.route?.route;
      if (matched !== undefined) {
        span.updateName(`${ctx.req.method ?? 'GET'} ${matched.config.prefix}`);
        span.setAttributes({ 'http.route': matched.config.prefix, 'lucid.route': matched.id });
      }
      span.setAttributes({ 'url.path': ctx.path, 'http.response.status_code': status });
      if (ctx.grpc !== undefined) {
        span.setAttribute('rpc.system', 'grpc');
        if (ctx.grpcStatus !== undefined) span.setAttribute('rpc.grpc.status_code', ctx.grpcStatus);
      }
      // Server spans: a 4xx is the client's mistake, not the server's error.
      if (status >= 500) span.setStatus({ code: ERROR }).setAttribute('error.type', String(status));
    }
    span.end();
  }
}

class AttemptSpan implements AttemptTrace {
  readonly traceparent: string;

  constructor(private readonly span: Api.Span) {
    this.traceparent = traceparentOf(span.spanContext());
  }

  end(result: { status?: number | undefined; error?: string | undefined }): void {
    const span = this.span;
    if (span.isRecording()) {
      if (result.status !== undefined) {
        span.setAttribute('http.response.status_code', result.status);
        // Client spans: any 4xx or 5xx is an error.
        if (result.status >= 400)
          span.setStatus({ code: ERROR }).setAttribute('error.type', String(result.status));
      } else if (result.error !== undefined) {
        span.setStatus({ code: ERROR }).setAttribute('error.type', result.error);
      }
    }
    span.end();
  }
}
