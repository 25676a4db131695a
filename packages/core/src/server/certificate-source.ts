// Types only: the seam between the HTTPS port and whatever brings its certificates (ACME, a vault, ...).

/** A certificate (chain) and its private key, PEM. */
export interface ServerCertificate {
  cert: string | Buffer;
  key: string | Buffer;
}

/** What the gateway's ports offer a certificate source. */
export interface CertificatePort {
  /**
   * Uses this certificate for new TLS connections (open ones keep theirs). The first one brings
   * HTTPS up: until then handshakes fail, and only the plain port answers. Throws when the key
   * does not match the certificate (the one in use stays).
   */
  install(certificate: ServerCertificate): void;
}

/**
 * Brings the HTTPS port's certificates (a plugin's `certificates`, for `server.tls.acme`). The
 * gateway attaches it when its ports listen, then starts the plugin; it asks it for challenge
 * answers on the plain port (http-01) and for connections that offer ALPN `acme-tls/1` (tls-alpn-01).
 */
export interface CertificateSource {
  attach(port: CertificatePort): void;
  /** The key authorization for an http-01 token (already checked to be base64url), or undefined. */
  httpChallenge(token: string): Promise<string | undefined>;
  /** The tls-alpn-01 certificate for a name (RFC 8737), or undefined when none is pending. */
  alpnChallenge(servername: string): Promise<ServerCertificate | undefined>;
}
