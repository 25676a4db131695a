import type { IncomingMessage } from 'node:http';
import { type ErrorSpec, GatewayError, type Middleware, type RoutedContext } from '@lucid/gateway-core';
import type { Problem } from './problems.js';
import { type ResponseReport, watchAnswer } from './response-report.js';
import type { ValidateSettings } from './route-option.js';
import type { ServiceValidators } from './service-validators.js';

/** The error codes validation answers with (core's 404, 405 and 413 besides). */
export const VALIDATION_ERRORS = {
  GW_REQUEST_INVALID: { status: 400, title: "Request does not match the service's API" },
  GW_UNSUPPORTED_MEDIA_TYPE: { status: 415, title: 'Unsupported media type' },
  GW_API_DOCUMENT_UNAVAILABLE: { status: 503, title: "The service's API description is unavailable" },
} as const satisfies Record<string, ErrorSpec>;

export interface ValidateRouteOptions {
  routeId: string;
  service: string;
  settings: ValidateSettings;
  validators: ServiceValidators;
  /** `server.limits.bufferBody`: the largest body the gateway holds, so the largest it can check. */
  maxBody: number;
  /** Where answers that do not match are counted (`responses: report`). */
  report: ResponseReport | undefined;
}

/**
 * Checks each request of a route against the operation it lands on in its service's OpenAPI
 * document, before it reaches the upstream: a request that does not match is answered 400 (415 for
 * a media type the operation does not take) with each problem by location. Runs after
 * authentication and rate limits, and after the body was buffered (`ctx.heldBody`); a body the
 * operation takes but the gateway did not hold is refused (413) rather than forwarded unchecked.
 * The validator is looked up per request, so a refreshed document applies at once.
 *
 * @example
 * validateRoute({ routeId: 'payments', service: 'payments', settings, validators, maxBody: 65536, report })
 */
export function validateRoute(opts: ValidateRouteOptions): Middleware {
  const { routeId, service, settings, validators, maxBody, report } = opts;
  const closed = settings.onMissing === 'closed';
  return async function validateRequest(ctx: RoutedContext, next: () => Promise<void>): Promise<void> {
    const { validator, reason } = validators.get(service);
    if (validator === undefined) {
      if (closed)
        throw new GatewayError('GW_API_DOCUMENT_UNAVAILABLE', { detail: `service "${service}": ${reason}` });
      return next();
    }
    const method = ctx.req.method ?? 'GET';
    const found = validator.find(method, ctx.route.upstreamPath);
    if (found.kind === 'not-found') {
      throw new GatewayError('GW_ROUTE_NOT_FOUND', {
        detail: "no operation of the service's API has this path",
      });
    }
    if (found.kind === 'method-not-allowed') {
      throw new GatewayError('GW_METHOD_NOT_ALLOWED', {
        detail: `the service's API has no ${method} operation at this path`,
        headers: { allow: found.allow.join(', ') },
      });
    }
    if (found.kind === 'unchecked') {
      if (closed) {
        throw new GatewayError('GW_API_DOCUMENT_UNAVAILABLE', {
          detail: `${found.id} cannot be checked: the service's document could not be compiled for it`,
        });
      }
      return next();
    }
    const op = found.operation;
    if (settings.requests) {
      let body = ctx.heldBody;
      if (body === undefined && op.body !== undefined && carriesBody(ctx.req)) {
        throw new GatewayError('GW_BODY_TOO_LARGE', {
          detail: `a body checked against the service's API can be at most ${maxBody} bytes`,
        });
      }
      if (op.body === undefined) body = undefined;
      const verdict = op.check(
        { path: ctx.route.upstreamPath, query: ctx.search.slice(1), headers: ctx.req.headers, body },
        found.params,
      );
      if (!verdict.ok) {
        throw new GatewayError(verdict.status === 415 ? 'GW_UNSUPPORTED_MEDIA_TYPE' : 'GW_REQUEST_INVALID', {
          detail: summary(op.id, verdict.problems),
          extra: { operation: op.id, problems: verdict.problems },
        });
      }
    }
    if (report !== undefined && op.responses !== undefined) {
      watchAnswer(ctx.res, maxBody, (status, type, answer) =>
        report.check(routeId, op, status, type, answer),
      );
    }
    return next();
  };
}

function summary(id: string, problems: readonly Problem[]): string {
  const first = problems[0]!;
  const more = problems.length > 1 ? ` (and ${problems.length - 1} more)` : '';
  return `${id}: ${first.location} ${first.message}${more}`;
}

/** Whether a request has a body (as core's body buffer decides it). */
function carriesBody(req: IncomingMessage): boolean {
  if (req.httpVersionMajor === 2) {
    const stream = (req as unknown as { stream?: { endAfterHeaders?: boolean } }).stream;
    return stream?.endAfterHeaders !== true && req.headers['content-length'] !== '0';
  }
  const length = req.headers['content-length'];
  if (length !== undefined) return length !== '0';
  return req.headers['transfer-encoding'] !== undefined;
}
