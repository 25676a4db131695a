import { loadEnvFile } from '../config/env.js';
import { type LoadedConfig, loadConfig } from '../config/load.js';

/** The options every command that reads the config takes. */
export interface ConfigFlags {
  config?: string | undefined;
  envFile?: string | undefined;
}

/** Loads `--env-file` into the environment (real variables win), then the config. */
export async function loadWithFlags(flags: ConfigFlags): Promise<LoadedConfig> {
  if (flags.envFile) loadEnvFile(flags.envFile);
  return loadConfig({ file: flags.config, env: process.env });
}

/** `the embedded default` or the file's path, for messages. */
export const sourceOf = (loaded: { filepath: string | undefined }) =>
  loaded.filepath ?? 'the embedded default';
