import type { OutgoingHttpHeaders, ServerResponse } from 'node:http';

export interface JsonAnswer {
  /** `application/json` unless said otherwise (problems are `application/problem+json`). */
  contentType?: string;
  requestId: string;
  /** The request's method: a HEAD gets the headers only (default: the response's request's). */
  method?: string | undefined;
  /** Headers to send too (the context's response headers); written before the answer's own. */
  headers?: OutgoingHttpHeaders | undefined;
}

/**
 * The one writer of the gateway's own JSON answers (problems, /, /health): never cached, with the
 * request id, and no body for HEAD.
 *
 * @example sendJson(ctx.res, 200, { status: 'up' }, { requestId: ctx.requestId, headers: ctx.responseHeaders })
 */
export function sendJson(res: ServerResponse, status: number, value: unknown, answer: JsonAnswer): void {
  sendText(res, status, JSON.stringify(value), answer.contentType ?? 'application/json', answer);
}

/** The same for an already serialized body of any type (the metrics text). */
export function sendText(
  res: ServerResponse,
  status: number,
  body: string,
  contentType: string,
  answer: Omit<JsonAnswer, 'contentType'>,
): void {
  res.writeHead(status, {
    ...answer.headers,
    'content-type': contentType,
    'content-length': Buffer.byteLength(body),
    'cache-control': 'no-store',
    'x-request-id': answer.requestId,
  });
  res.end((answer.method ?? res.req?.method) === 'HEAD' ? undefined : body);
}
