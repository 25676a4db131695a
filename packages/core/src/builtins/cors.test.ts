import type { IncomingHttpHeaders, OutgoingHttpHeaders } from 'node:http';
import { describe, expect, it } from 'vitest';
import { ConfigError } from '../config/errors.js';
import { serverSchema } from '../config/schema.js';
import { isGatewayError } from '../errors.js';
import type { GatewayContext } from '../types.js';
import { cors } from './cors.js';

const corsConfig = (input: Record<string, unknown>) => serverSchema.parse({ cors: input }).cors;

function fakeCtx(method: string, headers: IncomingHttpHeaders) {
  const written: { status?: number; headers?: OutgoingHttpHeaders; ended: boolean } = { ended: false };
  const ctx = {
    req: { method, headers },
    res: {
      writeHead(status: number, h: OutgoingHttpHeaders) {
        written.status = status;
        written.headers = h;
      },
      end() {
        written.ended = true;
      },
    },
    requestId: 'req-1',
    responseHeaders: {} as OutgoingHttpHeaders,
  } as unknown as GatewayContext;
  return { ctx, written };
}

const APP = 'https://app.lucid.dev';

describe('cors', () => {
  it('is off when not configured', () => {
    expect(cors(undefined)).toBeUndefined();
  });

  const handle = cors(corsConfig({ origins: [APP, 'http://localhost:3000'], credentials: true }))!;

  it('adds the headers for an allowed origin and continues', () => {
    const { ctx, written } = fakeCtx('GET', { origin: APP });
    expect(handle(ctx)).toBe(false);
    expect(ctx.responseHeaders).toEqual({
      'access-control-allow-origin': APP,
      'access-control-allow-credentials': 'true',
      'access-control-expose-headers': 'x-request-id, retry-after, ratelimit, ratelimit-policy',
      vary: 'Origin',
    });
    expect(written.ended).toBe(false);
  });

  it.each([
    'https://app.lucid.dev.evil.example',
    'https://evil.example/https://app.lucid.dev',
    'http://app.lucid.dev',
    'https://app.lucid.dev:8443',
    'https://APP.lucid.dev',
    'null',
    'http://localhost:3001',
  ])('adds no CORS headers for %s', (origin) => {
    const { ctx } = fakeCtx('GET', { origin });
    expect(handle(ctx)).toBe(false);
    expect(ctx.responseHeaders).toEqual({ vary: 'Origin' });
  });

  it('marks responses without Origin as varying by it', () => {
    const { ctx } = fakeCtx('GET', {});
    expect(handle(ctx)).toBe(false);
    expect(ctx.responseHeaders).toEqual({ vary: 'Origin' });
  });

  it('answers a preflight from an allowed origin itself', () => {
    const { ctx, written } = fakeCtx('OPTIONS', {
      origin: 'http://localhost:3000',
      'access-control-request-method': 'DELETE',
      'access-control-request-headers': 'authorization',
    });
    expect(handle(ctx)).toBe(true);
    expect(written.status).toBe(204);
    expect(written.ended).toBe(true);
    expect(written.headers).toMatchObject({
      'access-control-allow-origin': 'http://localhost:3000',
      'access-control-allow-credentials': 'true',
      'access-control-allow-methods': 'GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS',
      'access-control-allow-headers': 'authorization, content-type, x-request-id',
      'access-control-max-age': '600',
      'x-request-id': 'req-1',
    });
    expect(String(written.headers?.vary)).toMatch(/^Origin\b/);
  });

  it('refuses a preflight from another origin with 403', () => {
    const { ctx, written } = fakeCtx('OPTIONS', {
      origin: 'https://evil.example',
      'access-control-request-method': 'POST',
    });
    let caught: unknown;
    try {
      handle(ctx);
    } catch (err) {
      caught = err;
    }
    expect(isGatewayError(caught) && [caught.code, caught.status, caught.detail]).toEqual([
      'GW_FORBIDDEN',
      403,
      'origin not allowed',
    ]);
    expect(written.status).toBeUndefined();
  });

  it('lets a plain OPTIONS request (no Access-Control-Request-Method) through', () => {
    const { ctx, written } = fakeCtx('OPTIONS', { origin: APP });
    expect(handle(ctx)).toBe(false);
    expect(written.status).toBeUndefined();
  });

  it('normalizes configured origins the way browsers send them', () => {
    const h = cors(corsConfig({ origins: ['HTTPS://App.Lucid.Dev:443/'] }))!;
    const { ctx } = fakeCtx('GET', { origin: APP });
    h(ctx);
    expect(ctx.responseHeaders['access-control-allow-origin']).toBe(APP);
    expect(ctx.responseHeaders['access-control-allow-credentials']).toBeUndefined();
  });

  it('answers * for any origin when so configured without credentials', () => {
    const h = cors(corsConfig({ origins: ['*'] }))!;
    const { ctx } = fakeCtx('GET', { origin: 'https://anyone.example' });
    expect(h(ctx)).toBe(false);
    expect(ctx.responseHeaders['access-control-allow-origin']).toBe('*');
    expect(ctx.responseHeaders['access-control-allow-credentials']).toBeUndefined();
  });

  it('refuses * with credentials, and entries that are not origins', () => {
    // The schema refuses this pairing first; cors() still guards callers that skip the schema.
    expect(() => corsConfig({ origins: ['*'], credentials: true })).toThrow(
      /cannot be used with credentials/,
    );
    const unchecked = { ...corsConfig({ origins: ['*'] })!, credentials: true };
    expect(() => cors(unchecked)).toThrow(ConfigError);
    expect(() => cors(corsConfig({ origins: ['https://app.lucid.dev/path'] }))).toThrow(
      /server\.cors\.origins\[0\]/,
    );
    expect(() => cors(corsConfig({ origins: ['app.lucid.dev'] }))).toThrow(ConfigError);
  });
});
