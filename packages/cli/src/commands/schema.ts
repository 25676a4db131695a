import { writeFile } from 'node:fs/promises';
import { configJsonSchema as jsonSchemaOf, SCHEMA_ID } from '@lucid/gateway-core';
import { EXIT, type Io, reportError } from '../output.js';
import { cliSchema } from '../plugins.js';

export { SCHEMA_ID };

/** The JSON Schema of a config file as written (durations and sizes as strings), for editors. */
export function configJsonSchema(): Record<string, unknown> {
  return jsonSchemaOf(cliSchema);
}

/** `lucid-gateway schema [--out FILE]`: prints (or writes) the config's JSON Schema. */
export async function schemaCommand(flags: { out?: string | undefined }, io: Io): Promise<number> {
  try {
    const text = `${JSON.stringify(configJsonSchema(), null, 2)}\n`;
    if (flags.out) {
      await writeFile(flags.out, text);
      io.out(`wrote ${flags.out}`);
    } else {
      io.out(text);
    }
    return EXIT.ok;
  } catch (err) {
    return reportError(io, err);
  }
}
