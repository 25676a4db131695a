import type { IncomingMessage } from 'node:http';
import { describe, expect, it } from 'vitest';
import { requestIdOf, traceparentOf } from './request-id.js';

const reqWith = (headers: Record<string, string | string[]>) => ({ headers }) as unknown as IncomingMessage;
const TRACEPARENT = /^00-[0-9a-f]{32}-[0-9a-f]{16}-01$/;

describe('requestIdOf', () => {
  it('keeps a well-formed incoming id', () => {
    expect(requestIdOf(reqWith({ 'x-request-id': 'abc.DEF_1:2-3' }))).toBe('abc.DEF_1:2-3');
    const max = 'a'.repeat(128);
    expect(requestIdOf(reqWith({ 'x-request-id': max }))).toBe(max);
  });

  it.each([
    ['missing', {}],
    ['empty', { 'x-request-id': '' }],
    ['too long', { 'x-request-id': 'a'.repeat(129) }],
    ['with spaces', { 'x-request-id': 'a b' }],
    ['injecting a log line', { 'x-request-id': 'a\nlevel=error' }],
    ['repeated (joined by node)', { 'x-request-id': 'one, two' }],
  ])('replaces an id that is %s', (_name, headers) => {
    const id = requestIdOf(reqWith(headers));
    expect(id).toMatch(/^[0-9a-f-]{36}$/);
    expect(id).not.toBe((headers as Record<string, string>)['x-request-id']);
  });

  it('makes a different id each time', () => {
    expect(requestIdOf(reqWith({}))).not.toBe(requestIdOf(reqWith({})));
  });
});

describe('traceparentOf', () => {
  const valid = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';

  it('keeps a valid traceparent', () => {
    expect(traceparentOf(reqWith({ traceparent: valid }))).toBe(valid);
    const unsampled = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00';
    expect(traceparentOf(reqWith({ traceparent: unsampled }))).toBe(unsampled);
  });

  it.each([
    ['missing', undefined],
    ['all-zero trace id', `00-${'0'.repeat(32)}-00f067aa0ba902b7-01`],
    ['all-zero parent id', `00-4bf92f3577b34da6a3ce929d0e0e4736-${'0'.repeat(16)}-01`],
    ['upper-case hex', '00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01'],
    ['unknown version', '01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01'],
    ['short trace id', '00-4bf92f3577b34da6a3ce929d0e0e473-00f067aa0ba902b7-01'],
    ['trailing data', `${valid}-extra`],
  ])('generates a new one when the incoming one is %s', (_name, incoming) => {
    const tp = traceparentOf(reqWith(incoming === undefined ? {} : { traceparent: incoming }));
    expect(tp).toMatch(TRACEPARENT);
    expect(tp).not.toBe(incoming);
    expect(tp.slice(3, 35)).not.toBe('0'.repeat(32));
  });

  it('generates distinct trace ids', () => {
    expect(traceparentOf(reqWith({})).slice(3, 35)).not.toBe(traceparentOf(reqWith({})).slice(3, 35));
  });
});
