import { describe, expect, it } from 'vitest';
import { targetFromUrl } from './pool.js';
import { speaksHttp2 } from './protocol.js';

describe('HTTP/2 targets', () => {
  it('an h2c:// target keeps its scheme in the id and is reached at http://host:port', () => {
    const t = targetFromUrl('h2c://grpc-a:50051', 3);
    expect(t.id).toBe('h2c://grpc-a:50051');
    expect(t.url.href).toBe('http://grpc-a:50051/');
    expect(t.weight).toBe(3);
    expect(targetFromUrl('h2c://[::1]:7').url.host).toBe('[::1]:7');
    expect(targetFromUrl('h2c://grpc-a').url.port).toBe('');
  });

  it('a service speaks HTTP/2 when it says so, or when its targets are h2c://', () => {
    const t = (url: string) => ({ url, weight: 1 });
    expect(speaksHttp2({ http2: undefined, targets: [t('h2c://a:1')] })).toBe(true);
    expect(speaksHttp2({ http2: true, targets: [t('https://a')] })).toBe(true);
    expect(speaksHttp2({ http2: undefined, targets: [t('https://a')] })).toBe(false);
    expect(speaksHttp2({ http2: false, targets: [t('http://a')] })).toBe(false);
    // Discovery-only services have no static targets: the flag decides.
    expect(speaksHttp2({ http2: true, targets: [] })).toBe(true);
  });
});
