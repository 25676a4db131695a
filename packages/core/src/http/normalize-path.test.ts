import { once } from 'node:events';
import { createServer } from 'node:http';
import { type AddressInfo, connect } from 'node:net';
import { type RunningGateway, send, startGateway, startUpstream, type Upstream } from '@lucid/test-kit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isGatewayError } from '../errors.js';
import { normalizePath } from './normalize-path.js';

function rejection(url: string): string {
  try {
    normalizePath(url);
  } catch (err) {
    if (!isGatewayError(err)) throw err;
    expect(err.code).toBe('GW_BAD_PATH');
    expect(err.status).toBe(400);
    return err.detail ?? '';
  }
  throw new Error(`expected ${JSON.stringify(url)} to be rejected`);
}

describe('normalizePath', () => {
  it.each([
    // already canonical (the fast path)
    ['/', '/', ''],
    ['/auth/login', '/auth/login', ''],
    ['/auth/login/', '/auth/login/', ''],
    ['/v1/file.json', '/v1/file.json', ''],
    ['/a/.b/..c/...', '/a/.b/..c/...', ''],
    ["/users/me:self@x/~tilde_(1)!*+,=$&'", "/users/me:self@x/~tilde_(1)!*+,=$&'", ''],
    // the query is split at the first '?' and passed through untouched
    ['/a/b?x=1&y=..', '/a/b', '?x=1&y=..'],
    ['/a/b?', '/a/b', '?'],
    ['/a?%2f;#\\..//', '/a', '?%2f;#\\..//'],
    ['/a/../b?c=/../d', '/b', '?c=/../d'],
    // dot segments
    ['/auth/../admin/x', '/admin/x', ''],
    ['/a/./b', '/a/b', ''],
    ['/a/b/.', '/a/b/', ''],
    ['/a/b/..', '/a/', ''],
    ['/a/b/../', '/a/', ''],
    ['/a/..', '/', ''],
    ['/.', '/', ''],
    ['/./', '/', ''],
    ['/a/b/c/../../d', '/a/d', ''],
    // encoded dots are dots
    ['/auth/%2e%2e/admin', '/admin', ''],
    ['/auth/%2E%2E/admin', '/admin', ''],
    ['/auth/.%2e/admin', '/admin', ''],
    ['/a/%2e/b', '/a/b', ''],
    ['/a/%2e%2e%2e', '/a/...', ''],
    // repeated slashes
    ['//a///b', '/a/b', ''],
    ['//', '/', ''],
    ['/a//', '/a/', ''],
    ['/a//../b', '/b', ''],
    // unreserved escapes decoded, others kept with upper-case hex
    ['/%7euser', '/~user', ''],
    ['/%41%62%2D%5f%30', '/Ab-_0', ''],
    ['/caf%c3%a9', '/caf%C3%A9', ''],
    ['/a%3bb', '/a%3Bb', ''],
    ['/a%3fb%23c', '/a%3Fb%23c', ''],
    ['/a%20b', '/a%20b', ''],
    // never decoded twice
    ['/%252e%252e/x', '/%252e%252e/x', ''],
    ['/%25', '/%25', ''],
    ['/%252f', '/%252f', ''],
    // characters not allowed raw are encoded; a char above 0x7f is a latin1 byte (how Node decodes a target)
    ['/caf\u00c3\u00a9', '/caf%C3%A9', ''],
    ['/a|b', '/a%7Cb', ''],
    ['/a b', '/a%20b', ''],
    ['/{x}/[y]/^`"<>', '/%7Bx%7D/%5By%5D/%5E%60%22%3C%3E', ''],
    // valid UTF-8 (escaped, raw, or both mixed in one character) is kept, escaped with upper-case hex
    ['/%C3%A9', '/%C3%A9', ''],
    ['/caf%C3%A9?q=%c0%ae', '/caf%C3%A9', '?q=%c0%ae'],
    ['/%c2%80%df%bf', '/%C2%80%DF%BF', ''],
    ['/%e0%a0%80/%ed%9f%bf/%ee%80%80/%ef%bf%bf', '/%E0%A0%80/%ED%9F%BF/%EE%80%80/%EF%BF%BF', ''],
    ['/%f0%9f%98%80', '/%F0%9F%98%80', ''],
    ['/%f0%90%80%80/%f4%8f%bf%bf', '/%F0%90%80%80/%F4%8F%BF%BF', ''],
    ['/\u00f0\u009f\u0098\u0080', '/%F0%9F%98%80', ''],
    ['/caf\u00c3%a9', '/caf%C3%A9', ''],
    ['/caf%c3\u00a9', '/caf%C3%A9', ''],
  ])('%j → %j %j', (url, path, search) => {
    expect(normalizePath(url)).toEqual({ path, search });
  });

  it.each([
    // not origin-form
    ['', 'must be a path'],
    ['*', 'must be a path'],
    ['http://h/x', 'must be a path'],
    ['host:443', 'must be a path'],
    ['a/b', 'must be a path'],
    // ambiguous between servers
    ['/a/%2fb', 'encoded "/"'],
    ['/a/%2Fb', 'encoded "/"'],
    ['/a%5cb', 'encoded "\\"'],
    ['/a%5Cb', 'encoded "\\"'],
    ['/a\\b', 'backslash'],
    ['/a%00b', 'encoded NUL'],
    ['/a;b=1', '";"'],
    ['/a/b;jsessionid=1/c', '";"'],
    ['/a;', '";"'],
    ['/a#frag', '"#"'],
    // broken escapes
    ['/a%zz', 'invalid percent-escape'],
    ['/a%', 'invalid percent-escape'],
    ['/a%4', 'invalid percent-escape'],
    ['/a%4?x', 'invalid percent-escape'],
    ['/a%%41', 'invalid percent-escape'],
    ['/a%g1', 'invalid percent-escape'],
    // control characters
    ['/a\u0000b', 'control character'],
    ['/a\tb', 'control character'],
    ['/a\r\nb', 'control character'],
    ['/a\u007fb', 'control character'],
    // not a byte
    ['/\u20ac', 'not a byte'],
    // not UTF-8 once decoded (RFC 3629 §10): overlong forms of "." and "/"
    ['/%c0%ae', 'not valid UTF-8'],
    ['/%c0%ae%c0%ae/admin', 'not valid UTF-8'],
    ['/%C0%AF', 'not valid UTF-8'],
    ['/%c1%9c', 'not valid UTF-8'],
    ['/%e0%80%ae', 'not valid UTF-8'],
    ['/%e0%9f%bf', 'not valid UTF-8'],
    ['/%f0%80%80%af', 'not valid UTF-8'],
    ['/%f0%8f%bf%bf', 'not valid UTF-8'],
    ['/%f8%80%80%80%af', 'not valid UTF-8'],
    ['/%fc%80%80%80%80%af', 'not valid UTF-8'],
    // surrogates (CESU-8 pairs too), above U+10FFFF, bytes that never occur
    ['/%ed%a0%80', 'not valid UTF-8'],
    ['/%ed%bf%bf', 'not valid UTF-8'],
    ['/%ed%a0%bd%ed%b8%80', 'not valid UTF-8'],
    ['/%f4%90%80%80', 'not valid UTF-8'],
    ['/%f5%80%80%80', 'not valid UTF-8'],
    ['/%ff', 'not valid UTF-8'],
    ['/%fe%ff', 'not valid UTF-8'],
    ['/%ef%bb%bf%fe', 'not valid UTF-8'],
    // lone continuation bytes, truncated sequences, a sequence cut by "/", ASCII or its end
    ['/%80', 'not valid UTF-8'],
    ['/a%bf', 'not valid UTF-8'],
    ['/%c3%a9%a9', 'not valid UTF-8'],
    ['/%c3', 'not valid UTF-8'],
    ['/%c3/', 'not valid UTF-8'],
    ['/%c3/%a9', 'not valid UTF-8'],
    ['/%c3a', 'not valid UTF-8'],
    ['/%c3.', 'not valid UTF-8'],
    ['/%c3%41', 'not valid UTF-8'],
    ['/%c3%20', 'not valid UTF-8'],
    ['/%c3?x', 'not valid UTF-8'],
    ['/%e2%82', 'not valid UTF-8'],
    ['/%e2%82x', 'not valid UTF-8'],
    ['/%f0%9f%98', 'not valid UTF-8'],
    ['/%f0%9f%98/a', 'not valid UTF-8'],
    // the same as raw bytes (Node hands a target over as latin1 text, one char per byte)
    ['/\u00c0\u00ae', 'not valid UTF-8'],
    ['/caf\u00e9', 'not valid UTF-8'],
    ['/\u00ed\u00a0\u0080', 'not valid UTF-8'],
    ['/\u00ff', 'not valid UTF-8'],
    ['/\u00c3|', 'not valid UTF-8'],
    // above the root
    ['/../x', 'climbs above the root'],
    ['/..', 'climbs above the root'],
    ['/a/../../x', 'climbs above the root'],
    ['/%2e%2e/x', 'climbs above the root'],
    ['/a/%2E%2E/%2e%2e', 'climbs above the root'],
  ])('rejects %j (%s)', (url, why) => {
    expect(rejection(url)).toContain(why);
  });
});

describe('normalizePath on what node:http hands over', () => {
  const server = createServer((req, res) => {
    let body: string;
    try {
      body = JSON.stringify(normalizePath(req.url ?? ''));
    } catch (err) {
      body = JSON.stringify({ error: isGatewayError(err) ? err.code : String(err) });
    }
    res.end(body);
  });
  beforeAll(async () => {
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
  });
  afterAll(async () => {
    server.close();
    await once(server, 'close');
  });

  const PARSER_REFUSED = { parserStatus: 400 };

  /** Sends a raw request target and returns what the server made of `req.url`. */
  async function normalizedBy(target: Buffer): Promise<unknown> {
    const socket = connect((server.address() as AddressInfo).port, '127.0.0.1');
    const chunks: Buffer[] = [];
    socket.on('data', (c: Buffer) => chunks.push(c));
    socket.end(
      Buffer.concat([
        Buffer.from('GET '),
        target,
        Buffer.from(' HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n'),
      ]),
    );
    await once(socket, 'close');
    const raw = Buffer.concat(chunks).toString('latin1');
    if (!raw.startsWith('HTTP/1.1 200')) return { parserStatus: Number(raw.slice(9, 12)) };
    return JSON.parse(raw.slice(raw.indexOf('\r\n\r\n') + 4));
  }

  it('encodes the characters node:http lets through raw', async () => {
    expect(await normalizedBy(Buffer.from('/a|b{}^`"<>[]'))).toEqual({
      path: '/a%7Cb%7B%7D%5E%60%22%3C%3E%5B%5D',
      search: '',
    });
  });

  it('never forwards raw bytes above 0x7f undecided: the parser refuses them, or they are encoded or refused', async () => {
    // Node's parser answers 400 itself to raw non-ASCII in a target; a lenient one would hand over latin1.
    const valid = await normalizedBy(Buffer.from('/caf\u00e9/\u{1f600}', 'utf8'));
    expect([PARSER_REFUSED, { path: '/caf%C3%A9/%F0%9F%98%80', search: '' }]).toContainEqual(valid);
    for (const bytes of [
      [0xc0, 0xae],
      [0xc0, 0xaf],
      [0xe0, 0x80, 0xae],
      [0xed, 0xa0, 0x80],
      [0xff],
      [0x80],
    ]) {
      const got = await normalizedBy(Buffer.from([0x2f, 0x61, ...bytes]));
      expect([PARSER_REFUSED, { error: 'GW_BAD_PATH' }]).toContainEqual(got);
    }
  });

  it('refuses a raw backslash, which node:http lets through', async () => {
    expect(await normalizedBy(Buffer.from('/a\\..\\admin'))).toEqual({ error: 'GW_BAD_PATH' });
  });
});

describe('normalizePath through a real gateway', () => {
  const upstreams: Record<string, Upstream> = {};
  let gw: RunningGateway;

  beforeAll(async () => {
    for (const name of ['auth', 'admin']) {
      upstreams[name] = await startUpstream((_req, res, seen) => {
        res.end(JSON.stringify({ service: name, url: seen.url }));
      });
    }
    gw = await startGateway({
      services: { auth: { targets: [upstreams.auth!.url] }, admin: { targets: [upstreams.admin!.url] } },
      routes: [
        { prefix: '/auth', service: 'auth', auth: 'public' },
        { prefix: '/admin', service: 'admin', scopes: ['admin'] },
      ],
    });
  });
  afterAll(async () => {
    await gw.close();
    await Promise.all(Object.values(upstreams).map((u) => u.close()));
  });

  it.each([
    ['/auth/../admin/x', 'admin', '/x'],
    ['/auth/%2e%2e/admin', 'admin', '/'],
    ['/auth/.%2E/admin/y?q=/../z&r=%2f', 'admin', '/y?q=/../z&r=%2f'],
    ['//auth///login', 'auth', '/login'],
    ['/auth/./login/', 'auth', '/login/'],
    ['/auth/x/..', 'auth', '/'],
    ['/%61uth/%7euser/caf%c3%a9', 'auth', '/~user/caf%C3%A9'],
    ['/auth/a|b', 'auth', '/a%7Cb'],
    ['/auth/caf%C3%A9/%F0%9F%98%80', 'auth', '/caf%C3%A9/%F0%9F%98%80'],
    ['/auth/%e2%82%ac?x=%c0%ae', 'auth', '/%E2%82%AC?x=%c0%ae'],
  ])('%s reaches %s as %s', async (target, service, upstreamUrl) => {
    const res = await send(`${gw.url}${target}`);
    expect(res.status).toBe(200);
    expect(res.json()).toEqual({ service, url: upstreamUrl });
  });

  it.each([
    '/auth/..%2fadmin',
    '/auth%2f..%2fadmin',
    '/auth/..%5cadmin',
    '/auth\\..\\admin',
    '/auth;x=1/../admin',
    '/auth/%00',
    '/auth/%zz',
    '/auth/%',
    '/auth/%c0%ae%c0%ae/admin',
    '/auth/%c0%ae%c0%ae%c0%afadmin',
    '/auth/%e0%80%ae%e0%80%ae/admin',
    '/auth/%f0%80%80%af',
    '/auth/%ed%a0%80',
    '/auth/%f4%90%80%80',
    '/auth/%ff%fe',
    '/auth/%80',
    '/auth/%c3',
    '/../admin',
    '/auth/../../admin',
    'http://evil.example/admin',
    '*',
  ])('%s is refused with 400 and reaches no upstream', async (target) => {
    const seen = upstreams.auth!.seen.length + upstreams.admin!.seen.length;
    const res = await send(`${gw.url}${target}`, { method: target === '*' ? 'OPTIONS' : 'GET' });
    expect(res.status).toBe(400);
    expect(res.headers['content-type']).toBe('application/problem+json');
    expect(res.json()).toMatchObject({ status: 400, code: 'GW_BAD_PATH' });
    expect(upstreams.auth!.seen.length + upstreams.admin!.seen.length).toBe(seen);
  });
});
