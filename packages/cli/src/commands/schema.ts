import { writeFile } from 'node:fs/promises';
import { z } from 'zod';
import { fullConfigSchema } from '../config/schema.js';
import { EXIT, type Io, reportError } from '../output.js';

export const SCHEMA_ID = 'https://lucid-gateway.dev/schema/lucid-gateway.config.json';

/** The JSON Schema of a config file as written (durations and sizes as strings), for editors. */
export function configJsonSchema(): Record<string, unknown> {
  const { $schema, ...rest } = z.toJSONSchema(fullConfigSchema, {
    io: 'input',
    unrepresentable: 'any',
    target: 'draft-2020-12',
  });
  return { $schema, $id: SCHEMA_ID, title: 'Lucid Gateway config', ...rest };
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
