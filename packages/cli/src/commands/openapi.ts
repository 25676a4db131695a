import { writeFile } from 'node:fs/promises';
import { createGateway, createLogger } from '@lucid/gateway-core';
import { openapi } from '@lucid/openapi';
import { stringify as toYaml } from 'yaml';
import { EXIT, type Io, reportError } from '../output.js';
import { standInPlugins } from '../plugins.js';
import { type ConfigFlags, loadWithFlags } from './common.js';

export interface OpenApiFlags extends ConfigFlags {
  out?: string | undefined;
}

/**
 * `lucid-gateway openapi [--out FILE]`: fetches every service's document once and writes the merged
 * OpenAPI 3.1 document (YAML when FILE ends in .yaml/.yml). Exits 1 when a service's document could
 * not be had (the document is still written, without it), so a pipeline notices.
 */
export async function openapiCommand(flags: OpenApiFlags, io: Io): Promise<number> {
  try {
    const loaded = await loadWithFlags(flags);
    const logger = createLogger({ level: 'silent', pretty: false, accessLog: false }, { write: () => {} });
    // A one-off run reads static targets only (the stand-ins' discovery never reports: such services
    // are reported as unavailable) and contacts no plugin's backend.
    // The real API reference in place of its stand-in: it is what merges the documents.
    const docs = openapi();
    const plugins = standInPlugins(loaded.input).map((p) => (p.schema === docs.schema ? docs : p));
    const gateway = createGateway(loaded.input, { plugins, logger });
    let doc: Record<string, unknown>;
    try {
      doc = await docs.document({ refresh: true });
    } finally {
      await gateway.close({ graceMs: 0 });
    }
    const text = flags.out && /\.ya?ml$/i.test(flags.out) ? toYaml(doc) : `${JSON.stringify(doc, null, 2)}\n`;
    if (flags.out) {
      await writeFile(flags.out, text);
      io.err(`wrote ${flags.out}`);
    } else io.out(text);
    const info = doc.info as { description?: string; 'x-unavailable-services'?: string[] };
    const missing = info['x-unavailable-services'] ?? [];
    if (missing.length === 0) return EXIT.ok;
    io.err(`lucid-gateway: no OpenAPI document from ${missing.join(', ')}; they are left out:`);
    io.err(info.description?.split('**Unavailable** (their operations are not listed):\n')[1] ?? '');
    return EXIT.failed;
  } catch (err) {
    return reportError(io, err);
  }
}
