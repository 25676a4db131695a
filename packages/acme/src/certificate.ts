import { createPrivateKey, X509Certificate } from 'node:crypto';

/** A stored certificate: its key, its chain, and what renewal needs to know of the leaf. */
export interface StoredCertificate {
  key: string;
  chain: string;
  notBefore: number;
  notAfter: number;
  serial: string;
  names: string[];
}

const KEY_BLOCK = /-----BEGIN ((?:EC |RSA )?PRIVATE KEY)-----[\s\S]+?-----END \1-----\n?/;

/** One file: the private key, then the chain (leaf first). */
export function bundle(key: string, chain: string): string {
  return `${key.trim()}\n${chain.trim()}\n`;
}

/** Reads a bundle back; undefined when it is not a key with a certificate for it. */
export function parseBundle(text: string): StoredCertificate | undefined {
  const key = KEY_BLOCK.exec(text)?.[0];
  if (!key) return undefined;
  const chain = text.replace(KEY_BLOCK, '').trim();
  try {
    const leaf = new X509Certificate(chain);
    if (!leaf.checkPrivateKey(createPrivateKey(key))) return undefined;
    return {
      key,
      chain: `${chain}\n`,
      notBefore: Date.parse(leaf.validFrom),
      notAfter: Date.parse(leaf.validTo),
      serial: leaf.serialNumber.toLowerCase(),
      names: dnsNames(leaf.subjectAltName),
    };
  } catch {
    return undefined;
  }
}

function dnsNames(san: string | undefined): string[] {
  if (!san) return [];
  return san
    .split(', ')
    .filter((entry) => entry.startsWith('DNS:'))
    .map((entry) => entry.slice(4).toLowerCase());
}

/** Whether a certificate names every domain (a changed `domains` list orders a new one). */
export function covers(cert: StoredCertificate, domains: readonly string[]): boolean {
  return domains.every((d) => cert.names.includes(d));
}
