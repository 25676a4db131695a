import { EXIT, type Io, reportError } from '../output.js';
import { signDevToken } from '../plugins.js';
import { type ConfigFlags, loadWithFlags, sourceOf } from './common.js';

export interface TokenFlags extends ConfigFlags {
  sub: string;
  tier?: string | undefined;
  scopes?: string[] | undefined;
  ttl?: string | undefined;
}

/**
 * `lucid-gateway token`: a development JWT signed with the configured HS secret, with the
 * configured issuer, audience and tier claim, so the gateway accepts it. Prints only the token.
 */
export async function tokenCommand(flags: TokenFlags, io: Io): Promise<number> {
  try {
    const loaded = await loadWithFlags(flags);
    const auth = loaded.config.auth;
    const jwt = auth?.jwt;
    const algorithm = jwt?.algorithms.find((a) => a.startsWith('HS'));
    if (!auth || !jwt?.secret || !algorithm) {
      io.err(
        `lucid-gateway: ${sourceOf(loaded)} has no HS secret to sign with (auth.jwt.secret); ` +
          'tokens for public-key or JWKS setups come from their identity provider',
      );
      return EXIT.failed;
    }
    if (flags.scopes?.length && auth.scopesClaim !== undefined && auth.scopesClaim !== 'scope') {
      io.err(
        `lucid-gateway: note: scopes go in "scope", but the config reads them from "${auth.scopesClaim}"`,
      );
    }
    const token = await signDevToken({
      secret: jwt.secret,
      algorithm: algorithm as 'HS256' | 'HS384' | 'HS512',
      sub: flags.sub,
      ...(flags.tier !== undefined && { tier: flags.tier }),
      scopes: flags.scopes ?? [],
      ...(flags.ttl !== undefined && { ttl: flags.ttl }),
      issuer: Array.isArray(jwt.issuer) ? jwt.issuer[0]! : jwt.issuer,
      audience: jwt.audience,
      tierClaim: auth.tierClaim,
    });
    io.out(token);
    return EXIT.ok;
  } catch (err) {
    return reportError(io, err);
  }
}
