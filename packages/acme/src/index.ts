import { CERTIFICATES, type GatewayPlugin } from '@lucid/gateway-core';
import { AcmeEngine } from './engine.js';

export { AcmeEngine } from './engine.js';

/**
 * The plugin behind `server.tls.acme`: it reads that section when the gateway is built, and brings
 * the HTTPS port's certificates from the ACME CA (ordered, stored, renewed in the background and
 * swapped in without a restart). The CLI adds it when the section is there.
 *
 * @example
 * const gateway = createGateway(config, { plugins: [acmeCertificates()] });
 * await gateway.listen();
 */
export function acmeCertificates(): GatewayPlugin {
  let engine: AcmeEngine | undefined;
  const source = () => {
    if (!engine) throw new Error('acme: the gateway has not set this plugin up yet');
    return engine;
  };
  return {
    name: 'acme',
    provides: [CERTIFICATES],
    certificates: {
      attach: (port) => source().attach(port),
      httpChallenge: (token) => source().httpChallenge(token),
      alpnChallenge: (name) => source().alpnChallenge(name),
    },
    setup(setup) {
      const acme = setup.config.server.tls?.acme;
      if (!acme) throw new Error('acme: the config has no server.tls.acme section');
      engine = new AcmeEngine(acme, setup);
    },
    start: () => source().start(),
    close: async () => engine?.stop(),
    health: async () => source().health(),
  };
}
