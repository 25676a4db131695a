import { createRequire } from 'node:module';
import { basename, extname, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { cosmiconfig, type Loader } from 'cosmiconfig';
import { parseDocument } from 'yaml';
import { error, InvalidConfigError } from './problems.js';

export const MODULE_NAME = 'lucid-gateway';

const MODULE_EXTENSIONS = new Set(['.js', '.mjs', '.cjs', '.ts', '.mts', '.cts']);
const exts = (base: string, list: string[]) => list.map((e) => `${base}${e}`);

/** Where a config is looked for, first match wins: a dedicated file, then an rc file, then package.json. */
export const SEARCH_PLACES = [
  ...exts(`${MODULE_NAME}.config`, ['.yaml', '.yml', '.json', '.js', '.mjs', '.cjs', '.ts', '.mts']),
  `.${MODULE_NAME}rc`,
  ...exts(`.${MODULE_NAME}rc`, ['.yaml', '.yml', '.json', '.js', '.mjs', '.cjs', '.ts']),
  `.config/${MODULE_NAME}rc`,
  ...exts(`.config/${MODULE_NAME}rc`, ['.yaml', '.yml', '.json', '.js', '.mjs', '.cjs', '.ts']),
  'package.json',
];

export interface FoundConfig {
  filepath: string;
  /** The config as written (after `$import` merging); `undefined` for an empty file. */
  raw: unknown;
  /** YAML/JSON get `${VAR}` substitution; JS/TS modules compute their own values. */
  kind: 'data' | 'module';
}

/**
 * Finds and reads the config: `file` when given, else the first of `SEARCH_PLACES` in `cwd`.
 * Resolves `undefined` when nothing was found (the caller falls back to the embedded default).
 *
 * @example const found = await findConfig({ cwd: process.cwd() })
 */
export async function findConfig(opts: {
  file?: string | undefined;
  cwd: string;
}): Promise<FoundConfig | undefined> {
  const explorer = cosmiconfig(MODULE_NAME, {
    searchPlaces: SEARCH_PLACES,
    searchStrategy: 'none',
    // An empty config file is still the config the user chose, not a reason to look further.
    ignoreEmptySearchPlaces: false,
    // A reload must see the file as it is now.
    cache: false,
    loaders: {
      '.yaml': loadYaml,
      '.yml': loadYaml,
      '.json': loadYaml,
      noExt: loadYaml,
      '.js': loadModule,
      '.mjs': loadModule,
      '.cjs': loadModule,
      '.ts': loadModule,
      '.mts': loadModule,
      '.cts': loadModule,
    },
  });
  let result: Awaited<ReturnType<typeof explorer.load>>;
  try {
    result = opts.file ? await explorer.load(resolve(opts.cwd, opts.file)) : await explorer.search(opts.cwd);
  } catch (err) {
    if (err instanceof InvalidConfigError) throw err;
    const e = err as NodeJS.ErrnoException & { filepath?: string };
    const file = e.filepath ?? (opts.file ? resolve(opts.cwd, opts.file) : undefined);
    if (e.code === 'ENOENT' && opts.file) {
      throw new InvalidConfigError(
        [
          error(
            '',
            `config file not found: ${file}`,
            'check the path, or run "lucid-gateway init" to write one',
          ),
        ],
        file,
      );
    }
    throw new InvalidConfigError([error('', `cannot read the config: ${e.message}`)], file);
  }
  if (!result) return undefined;
  return {
    filepath: result.filepath,
    raw: result.isEmpty ? undefined : result.config,
    kind: MODULE_EXTENSIONS.has(extname(result.filepath)) ? 'module' : 'data',
  };
}

/** YAML (JSON is YAML too), with the line and column of a syntax error. */
const loadYaml: Loader = (filepath, content) => {
  const doc = parseDocument(content, { prettyErrors: true, uniqueKeys: true });
  if (doc.errors.length > 0) {
    throw new InvalidConfigError(
      doc.errors.map((e) => {
        const where = e.linePos?.[0] ? `line ${e.linePos[0].line}, column ${e.linePos[0].col}` : '';
        return error(where, e.message.split('\n')[0]!, `fix the ${basename(filepath)} syntax`);
      }),
      filepath,
    );
  }
  // undefined (not null) marks an empty config rather than no config.
  return doc.toJS() ?? undefined;
};

/** A module's default export: a config object, or a (possibly async) function returning one. */
const loadModule: Loader = async (filepath) => {
  let mod: unknown;
  try {
    if (extname(filepath) === '.cjs' || extname(filepath) === '.cts') {
      const require = createRequire(filepath);
      delete require.cache[filepath];
      mod = require(filepath);
    } else {
      // The query makes a reload import the file again instead of the cached module.
      mod = await import(`${pathToFileURL(filepath).href}?load=${Date.now()}`);
    }
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    const hint =
      e.code === 'ERR_UNKNOWN_FILE_EXTENSION'
        ? 'TypeScript configs need Node >= 22.18 (type stripping); or write the config as .js, .yaml or .json'
        : undefined;
    throw new InvalidConfigError([error('', `cannot load the config module: ${e.message}`, hint)], filepath);
  }
  let config: unknown;
  if (extname(filepath) === '.cjs' || extname(filepath) === '.cts') {
    // module.exports itself, or the default a transpiler left on it.
    config = (mod as { __esModule?: boolean; default?: unknown })?.__esModule
      ? (mod as { default?: unknown }).default
      : mod;
  } else if (mod && typeof mod === 'object' && 'default' in mod) {
    config = mod.default;
  } else {
    throw new InvalidConfigError(
      [
        error(
          '',
          'the config module has no default export',
          'write "export default { services: ..., routes: ... }"',
        ),
      ],
      filepath,
    );
  }
  if (typeof config === 'function') config = await (config as () => unknown)();
  return config ?? undefined;
};
