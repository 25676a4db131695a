// fast-gateway's plain proxy, as its README sets it up.
import gateway from 'fast-gateway';

const server = gateway({ routes: [{ prefix: '/api', target: process.env.UPSTREAM }] });
server.start(Number(process.env.PORT), '127.0.0.1').then(() => console.error('ready'));
