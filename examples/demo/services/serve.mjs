// Runs one stand-in service: `node serve.mjs auth` (the compose file runs one container per service).
// PORT defaults to the real service's port; HOST to 0.0.0.0; the auth service signs with JWT_SECRET_KEY.
import { listen } from './http.mjs';
import { SERVICES } from './index.mjs';

const name = process.argv[2];
const svc = SERVICES[name];
if (!svc) {
  console.error(`usage: node serve.mjs <${Object.keys(SERVICES).join('|')}>`);
  process.exit(2);
}
const secret = process.env.JWT_SECRET_KEY;
if (name === 'auth' && !secret) {
  console.error('the auth service needs JWT_SECRET_KEY (the same secret the gateway verifies with)');
  process.exit(2);
}

const server = await listen(svc.create({ secret }), {
  host: process.env.HOST ?? '0.0.0.0',
  port: Number(process.env.PORT ?? svc.port),
});
console.log(JSON.stringify({ msg: `${svc.host} (stand-in) listening`, url: server.url }));

for (const signal of ['SIGTERM', 'SIGINT']) {
  process.once(signal, () => server.close().then(() => process.exit(0)));
}
