import type { ServerHttp2Stream } from 'node:http2';
import { type ClientHttp2Session, connect, constants, type IncomingHttpHeaders } from 'node:http2';
import type {
  ForwardResult,
  GatewayContext,
  OutgoingRequest,
  ProxyEngine,
  Target,
} from '@lucid/gateway-core';

/** Headers HTTP/2 refuses on a request. */
const CONNECTION = ['connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'upgrade', 'host'];

/**
 * A minimal HTTP/2 upstream engine for these tests, following the engine contract (trailers relayed
 * with `addTrailers`, trailers-only answers on the client's stream, `deadline` cancels the stream).
 */
export class H2StandIn implements ProxyEngine {
  readonly name = 'h2-stand-in';
  readonly #sessions = new Map<string, ClientHttp2Session>();

  forward(ctx: GatewayContext, target: Target, outgoing: OutgoingRequest): Promise<ForwardResult> {
    return new Promise<ForwardResult>((resolve, reject) => {
      const session = this.#session(target);
      const headers: Record<string, unknown> = { ...outgoing.headers };
      for (const name of CONNECTION) delete headers[name];
      headers[':method'] = ctx.req.method;
      headers[':path'] = outgoing.path;
      headers[':authority'] = target.url.host;
      const stream = session.request(headers as never);
      let bytes = 0;
      let status = 0;
      let settled = false;
      const res = ctx.res;
      const settle = (err?: unknown) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        if (err === undefined) resolve({ status, bytes });
        else reject(err);
      };
      const timer =
        outgoing.deadline === undefined
          ? undefined
          : setTimeout(() => {
              stream.close(constants.NGHTTP2_CANCEL);
              settle(Object.assign(new Error('deadline'), { code: 'LUCID_UPSTREAM_DEADLINE' }));
            }, outgoing.deadline);
      ctx.body.pipe(stream);
      // A body the gateway refused (too large, too slow) fails the call with the gateway's error.
      ctx.body.once('error', (err) => {
        stream.close(constants.NGHTTP2_CANCEL);
        settle(err);
      });
      stream.on('error', (err) => settle(err));
      session.once('error', (err) => settle(err));
      stream.on('response', (h: IncomingHttpHeaders, flags: number) => {
        status = Number(h[':status']);
        const out: Record<string, unknown> = {};
        for (const name in h) if (name[0] !== ':') out[name] = h[name];
        Object.assign(out, ctx.responseHeaders);
        out['x-request-id'] = ctx.requestId;
        if (flags & constants.NGHTTP2_FLAG_END_STREAM) {
          const clientStream = (res as { stream?: ServerHttp2Stream }).stream;
          if (ctx.req.httpVersionMajor === 2 && clientStream)
            clientStream.respond({ ':status': status, ...out } as never, { endStream: true });
          else {
            res.writeHead(status, out as never);
            res.end();
          }
          settle();
          return;
        }
        res.writeHead(status, out as never);
      });
      stream.on('data', (chunk: Buffer) => {
        bytes += chunk.length;
        if (!res.write(chunk)) {
          stream.pause();
          res.once('drain', () => stream.resume());
        }
      });
      stream.on('trailers', (t: IncomingHttpHeaders) => res.addTrailers(t as never));
      stream.on('end', () => {
        if (settled) return;
        res.end();
        settle();
      });
      res.on('close', () => {
        if (!settled && !res.writableFinished) {
          stream.close(constants.NGHTTP2_CANCEL);
          settle(Object.assign(new Error('client left'), { code: 'LUCID_CLIENT_ABORTED' }));
        }
      });
    });
  }

  #session(target: Target): ClientHttp2Session {
    let session = this.#sessions.get(target.id);
    if (session === undefined || session.closed || session.destroyed) {
      session = connect(`http://${target.url.host}`);
      session.on('error', () => {});
      this.#sessions.set(target.id, session);
    }
    return session;
  }

  async close(): Promise<void> {
    for (const s of this.#sessions.values()) s.destroy();
    this.#sessions.clear();
  }
}
