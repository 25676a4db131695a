import { GatewayError, isGatewayError, sendProblem } from '../errors.js';
import { sendGrpcProblem } from '../grpc/answer.js';
import type { GatewayContext } from '../types.js';

/**
 * Answers a failed request with its problem; anything not a `GatewayError` is a logged 500.
 * A gRPC call gets it as a gRPC status, anything else as `application/problem+json`.
 */
export function answerError(ctx: GatewayContext, err: unknown): void {
  let problem: GatewayError;
  if (isGatewayError(err)) {
    problem = err;
    // Upstream failures carry their cause and earn a warning; a deliberate 503 is in the access log already.
    if (problem.status >= 500 && problem.cause !== undefined)
      ctx.log.warn({ code: problem.code, cause: describeCause(problem.cause) }, problem.message);
  } else {
    ctx.log.error({ err }, 'unhandled error');
    problem = new GatewayError('GW_INTERNAL');
  }
  if (ctx.grpc !== undefined) sendGrpcProblem(ctx, problem);
  else sendProblem(ctx.res, problem, ctx.requestId, ctx.responseHeaders);
}

function describeCause(cause: unknown): string | undefined {
  if (cause === undefined) return undefined;
  const e = cause as { code?: string; message?: string };
  return e.code ?? e.message;
}
