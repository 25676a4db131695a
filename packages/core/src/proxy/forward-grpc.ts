import { Readable } from 'node:stream';
import { GatewayError } from '../errors.js';
import { ReplayTap } from '../grpc/replay.js';
import { formatGrpcTimeout, parseGrpcTimeout } from '../grpc/timeout.js';
import type { ProxyRoute, RoutedContext, TransportOptions } from '../types.js';
import { withRetries } from './attempts.js';
import type { ForwardDeps } from './forward-deps.js';
import { upstreamRequestHeaders } from './headers.js';
import { hasRequestBody, inviteBody } from './request-body.js';
import { UpstreamDeadlineError, unseenByUpstream } from './upstream-error.js';

/**
 * A gRPC call: its `grpc-timeout` (capped by the route's timeout) is the deadline of the whole
 * exchange, retries included, and the upstream is told what is left of it. It is sent again only
 * when the upstream certainly never saw it (no connection, or REFUSED_STREAM) and its body can be
 * replayed: held whole by the gateway, kept as it passed (a streamed body, up to a bound), or not
 * read at all yet.
 */
export function grpcForwarder(
  route: ProxyRoute,
  deps: ForwardDeps,
  { timeout, transport }: { timeout: number; transport: () => TransportOptions },
) {
  const { serviceName, service } = route;
  const maxRetries = service.retry.attempts;
  const { pool, engine, metrics, replay } = deps;

  return async function forwardGrpc(ctx: RoutedContext): Promise<void> {
    const asked = parseGrpcTimeout(ctx.req.headers['grpc-timeout']);
    if (Number.isNaN(asked)) throw new GatewayError('GW_BAD_REQUEST', { detail: 'malformed grpc-timeout' });
    const deadlineAt = asked === undefined ? undefined : ctx.startedAt + Math.min(asked, timeout);
    const path = ctx.route.upstreamPath + ctx.search;
    // gRPC servers may insist on it (it is hop-by-hop, so the client's copy was dropped).
    ctx.upstreamHeaders.te = 'trailers';
    inviteBody(ctx.res);
    // A streamed body is kept as it passes (up to a bound), so a call the upstream never saw can go again.
    const tap =
      maxRetries > 0 &&
      replay !== undefined &&
      replay.max > 0 &&
      ctx.heldBody === undefined &&
      hasRequestBody(ctx.req)
        ? new ReplayTap(ctx.body, replay.max, replay.budget)
        : undefined;
    if (tap !== undefined) ctx.body = tap.body;
    let attempts = 0;
    try {
      await withRetries(
        ctx,
        {
          pool,
          metrics,
          serviceName,
          retries: maxRetries,
          committed: () => ctx.res.headersSent || ctx.res.destroyed,
          recordWindow: true,
          retryable: (err) => unseenByUpstream(err) && replayable(ctx, tap),
          clientDeadline: asked !== undefined && asked < timeout,
        },
        async (state, fresh) => {
          if (attempts++ > 0) {
            if (ctx.heldBody !== undefined) ctx.body = Readable.from([ctx.heldBody]);
            else if (tap !== undefined) ctx.body = tap.replay() ?? ctx.body;
          }
          const headers = upstreamRequestHeaders(ctx, state.target, service.preserveHost);
          let deadline: number | undefined;
          if (deadlineAt !== undefined) {
            deadline = deadlineAt - performance.now();
            if (deadline <= 0) throw new UpstreamDeadlineError(Math.min(asked!, timeout));
            headers['grpc-timeout'] = formatGrpcTimeout(deadline);
          }
          const result = await engine.forward(ctx, state.target, {
            path,
            headers,
            timeout,
            transport: transport(),
            fresh,
            ...(deadline !== undefined && { deadline }),
          });
          ctx.bytesSent = result.bytes;
          return { outcome: result.status >= 500 ? 'http-5xx' : 'ok', status: result.status };
        },
      );
    } finally {
      tap?.release();
    }
  };
}

/** A body that can go out again: held whole, kept so far by the tap, or not touched yet. */
function replayable(ctx: RoutedContext, tap: ReplayTap | undefined): boolean {
  return ctx.heldBody !== undefined || tap?.replayable === true || !ctx.body.readableDidRead;
}
