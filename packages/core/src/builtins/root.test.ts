import type { OutgoingHttpHeaders } from 'node:http';
import { describe, expect, it } from 'vitest';
import type { RoutedContext } from '../types.js';
import { rootHandler } from './root.js';

function fakeCtx(method = 'GET') {
  const out: { status?: number; headers?: OutgoingHttpHeaders; body?: string } = {};
  const ctx = {
    req: { method },
    res: {
      writeHead: (status: number, headers: OutgoingHttpHeaders) => Object.assign(out, { status, headers }),
      end: (body?: string) => Object.assign(out, { body }),
    },
    requestId: 'req-1',
    responseHeaders: { vary: 'Origin' },
  } as unknown as RoutedContext;
  return { ctx, out };
}

describe('rootHandler', () => {
  const prefixes = ['/auth'];
  const handler = rootHandler({
    name: 'lucid-api-gateway',
    version: '1.2.3',
    docs: () => 'https://docs',
    prefixes: () => prefixes,
  });

  it('answers name, version, docs and the current route prefixes', async () => {
    const { ctx, out } = fakeCtx();
    await handler(ctx);
    expect(out.status).toBe(200);
    expect(JSON.parse(out.body!)).toEqual({
      name: 'lucid-api-gateway',
      version: '1.2.3',
      docs: 'https://docs',
      routes: ['/auth'],
    });
    expect(out.headers).toMatchObject({
      'content-type': 'application/json',
      'x-request-id': 'req-1',
      vary: 'Origin',
    });
    prefixes.push('/sessions');
    const again = fakeCtx();
    await handler(again.ctx);
    expect(JSON.parse(again.out.body!).routes).toEqual(['/auth', '/sessions']);
  });

  it('sends headers only to HEAD', async () => {
    const { ctx, out } = fakeCtx('HEAD');
    await handler(ctx);
    expect(out.body).toBeUndefined();
    expect(out.headers?.['content-length']).toBeGreaterThan(0);
  });
});
