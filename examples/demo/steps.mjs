// The demo's try-it list: each step is the shell line run.mjs prints, the answer it promises, and
// the same request made with fetch, checked (examples/demo/demo.test.ts runs both forms).
import assert from 'node:assert/strict';

const JSON_BODY = "-H 'content-type: application/json'";
const TOKEN_OF = `sed -E 's/.*"access_token":"([^"]+)".*/\\1/'`;
const JWT = /^eyJ[\w-]+\.[\w-]+\.[\w-]+$/;
const SERVICES = ['admin', 'auth', 'blockchain', 'nodes', 'sessions'];

async function login(base, user) {
  const res = await fetch(`${base}/auth/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ username: user, password: user }),
  });
  assert.equal(res.status, 200);
  const body = await res.json();
  assert.match(body.access_token, JWT);
  return body.access_token;
}

const bearer = (token) => ({ authorization: `Bearer ${token}` });

/**
 * The steps for a gateway at `base`, in order (later ones use the tokens earlier ones got).
 * `shell` lists what the printed line's output must match; `check` makes the same request with fetch.
 *
 * @example for (const step of demoSteps('http://127.0.0.1:8080')) console.log(step.command)
 */
export function demoSteps(base) {
  return [
    {
      title: 'Health: the gateway and the five services behind it',
      answer: '200 {"status":"healthy", ..., "services":{"auth":true,"blockchain":true,...}}',
      command: `curl -s ${base}/health`,
      shell: [/"status":"healthy"/, /"services":\{[^}]*"auth":true/],
      async check() {
        const res = await fetch(`${base}/health`);
        assert.equal(res.status, 200);
        const body = await res.json();
        assert.equal(body.status, 'healthy');
        assert.deepEqual(Object.keys(body.services).sort(), SERVICES);
        assert.ok(Object.values(body.services).every((up) => up === true));
      },
    },
    {
      title: 'A protected route without a token',
      answer: '401 Unauthorized, with WWW-Authenticate: Bearer and an application/problem+json body',
      command: `curl -si ${base}/blockchain/blocks/latest`,
      shell: [/^HTTP\/1\.1 401/m, /^www-authenticate: Bearer/im, /application\/problem\+json/],
      async check() {
        const res = await fetch(`${base}/blockchain/blocks/latest`);
        assert.equal(res.status, 401);
        assert.match(res.headers.get('www-authenticate') ?? '', /^Bearer/);
        assert.match(res.headers.get('content-type') ?? '', /application\/problem\+json/);
        assert.equal((await res.json()).status, 401);
      },
    },
    {
      title: 'Log in as alice (POST /auth/login is public) and keep the token in $TOKEN',
      answer: 'prints the token: eyJhbGciOiJIUzI1NiIs...',
      command: `TOKEN=$(curl -s -X POST ${base}/auth/login ${JSON_BODY} -d '{"username":"alice","password":"alice"}' | ${TOKEN_OF}); echo "$TOKEN"`,
      shell: [/^eyJ[\w-]+\.[\w-]+\.[\w-]+$/m],
      async check(state) {
        state.token = await login(base, 'alice');
      },
    },
    {
      title: 'Routing: with the token, /blockchain/* reaches the blockchain service',
      answer: '200 {"block":{"height":...}, "via":{"path":"/blocks/latest","user":"user-alice",...}}',
      command: `curl -s -H "authorization: Bearer $TOKEN" ${base}/blockchain/blocks/latest`,
      shell: [/"block":\{"height":\d+/, /"path":"\/blocks\/latest"/, /"user":"user-alice"/],
      async check(state) {
        const res = await fetch(`${base}/blockchain/blocks/latest`, { headers: bearer(state.token) });
        assert.equal(res.status, 200);
        const body = await res.json();
        assert.ok(Number.isInteger(body.block.height));
        assert.equal(body.via.path, '/blocks/latest');
        assert.equal(body.via.user, 'user-alice');
      },
    },
    {
      title: 'alice lacks the admin scope that /admin requires',
      answer: '403 Forbidden',
      command: `curl -si -H "authorization: Bearer $TOKEN" ${base}/admin/stats`,
      shell: [/^HTTP\/1\.1 403/m],
      async check(state) {
        const res = await fetch(`${base}/admin/stats`, { headers: bearer(state.token) });
        assert.equal(res.status, 403);
      },
    },
    {
      title: 'Log in as admin and keep that token in $ADMIN',
      answer: 'prints the token: eyJhbGciOiJIUzI1NiIs...',
      command: `ADMIN=$(curl -s -X POST ${base}/auth/login ${JSON_BODY} -d '{"username":"admin","password":"admin"}' | ${TOKEN_OF}); echo "$ADMIN"`,
      shell: [/^eyJ[\w-]+\.[\w-]+\.[\w-]+$/m],
      async check(state) {
        state.admin = await login(base, 'admin');
      },
    },
    {
      title: "The admin's token opens /admin",
      answer: '200 {"uptimeSeconds":..., "via":{"path":"/stats","user":"user-admin",...}}',
      command: `curl -s -H "authorization: Bearer $ADMIN" ${base}/admin/stats`,
      shell: [/"path":"\/stats"/, /"user":"user-admin"/],
      async check(state) {
        const res = await fetch(`${base}/admin/stats`, { headers: bearer(state.admin) });
        assert.equal(res.status, 200);
        assert.equal((await res.json()).via.user, 'user-admin');
      },
    },
    {
      title: 'Rate limit: /nodes allows alice 5 requests a minute (a fresh demo; curl -si shows Retry-After)',
      answer: '200 200 200 200 200 429',
      command: `for i in 1 2 3 4 5 6; do curl -s -o /dev/null -w '%{http_code} ' -H "authorization: Bearer $TOKEN" ${base}/nodes; done; echo`,
      shell: [/^200 200 200 200 200 429\s*$/m],
      async check(state) {
        const codes = [];
        let last;
        for (let i = 0; i < 6; i++) {
          last = await fetch(`${base}/nodes`, { headers: bearer(state.token) });
          codes.push(last.status);
          if (i < 5) await last.arrayBuffer();
        }
        assert.deepEqual(codes, [200, 200, 200, 200, 200, 429]);
        assert.match(last.headers.get('retry-after') ?? '', /^\d+$/);
        assert.equal((await last.json()).status, 429);
      },
    },
  ];
}
