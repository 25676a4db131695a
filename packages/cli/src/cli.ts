import { availableParallelism } from 'node:os';
import { Command, CommanderError, InvalidArgumentError } from 'commander';
import pkg from '../package.json' with { type: 'json' };
import { initCommand } from './commands/init.js';
import { openapiCommand } from './commands/openapi.js';
import { routesCommand } from './commands/routes.js';
import { schemaCommand } from './commands/schema.js';
import { startCommand } from './commands/start.js';
import { tokenCommand } from './commands/token.js';
import { validateCommand } from './commands/validate.js';
import { EXIT, type Io, processIo, reportError } from './output.js';

export const VERSION: string = pkg.version;

const EXAMPLES = `
Examples:
  $ lucid-gateway init                                  write a commented starter config here
  $ lucid-gateway validate --env-file .env.core         check it (exit code 0 or 1)
  $ lucid-gateway routes                                show the route table
  $ lucid-gateway openapi --out openapi.json            the services' APIs, merged (for client generators)
  $ lucid-gateway start --env-file .env.core            run it
  $ lucid-gateway start --config gw.yaml --port 9000 --workers 4 --watch
  $ lucid-gateway token --sub user-1 --tier premium --scopes read,write --ttl 1h

With no config file, "start" runs on an embedded default: the five Lucid services,
memory rate limiting, no Redis, no Consul.
Config files searched in the current folder: lucid-gateway.config.{yaml,yml,json,js,mjs,cjs,ts},
.lucid-gatewayrc[.yaml|.json|.js|...], a "lucid-gateway" key in package.json.
Environment: PORT, LOG_LEVEL, JWT_SECRET_KEY, REDIS_URL, CONSUL_HTTP_ADDR override the config.
Exit codes: 0 ok, 1 the config or the command failed, 2 wrong usage.`;

const START_HELP = `
Signals: SIGHUP reloads the config (an invalid one is refused; the old one keeps serving),
SIGTERM or SIGINT drains in-flight requests (up to server.timeouts.shutdown) and exits 0.`;

function port(value: string): number {
  const n = Number(value);
  if (!/^\d+$/.test(value) || n > 65_535) throw new InvalidArgumentError('expected a port number, 0-65535');
  return n;
}

function workers(value: string): number {
  if (value === 'auto') return availableParallelism();
  const n = Number(value);
  if (!/^\d+$/.test(value) || n < 1)
    throw new InvalidArgumentError('expected a number of processes (1 or more) or "auto"');
  return n;
}

const list = (value: string) =>
  value
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);

/** The commander program; actions report their exit code through `setExit`. */
export function createProgram(io: Io, setExit: (code: number | undefined) => void): Command {
  const program = new Command('lucid-gateway')
    .description('Run Lucid Gateway, the API gateway of the Lucid services, from a config file.')
    .version(VERSION, '-v, --version', 'print the version')
    .helpOption('-h, --help', 'show help')
    .helpCommand('help [command]', 'show help for a command')
    .showHelpAfterError('(run with --help for usage)')
    .configureOutput({ writeOut: (s) => io.out(s), writeErr: (s) => io.err(s) })
    .exitOverride()
    .addHelpText('after', EXAMPLES);

  const withConfig = (cmd: Command) =>
    cmd
      .option('-c, --config <file>', 'config file (default: searched for in the current folder)')
      .option('-e, --env-file <file>', 'load variables from a dotenv file first (set ones win)');

  withConfig(program.command('start').description('start the gateway'))
    .option('-p, --port <n>', 'port to listen on (overrides server.port and PORT)', port)
    .option('-H, --host <address>', 'address to listen on (overrides server.host)')
    .option(
      '-w, --workers <n>',
      'processes sharing the port (node:cluster); "auto" for one per core',
      workers,
    )
    .option('--watch', 'reload when the config file (or the env file) changes')
    .addHelpText('after', START_HELP)
    .action(async (opts) => setExit(await startCommand(opts, io)));

  withConfig(
    program.command('validate').description('check the config: schema and semantic checks, with fixes'),
  )
    .option('--json', 'print the result as JSON')
    .action(async (opts) => setExit(await validateCommand(opts, io)));

  withConfig(program.command('routes').description('show the route table the gateway will use'))
    .option('--json', 'print the routes as JSON')
    .action(async (opts) => setExit(await routesCommand(opts, io)));

  withConfig(
    program
      .command('openapi')
      .description(
        "fetch the services' OpenAPI documents once and print the merged one (as /openapi.json serves it)",
      ),
  )
    .option('-o, --out <file>', 'write it to a file (YAML when the name ends in .yaml or .yml)')
    .action(async (opts) => setExit(await openapiCommand(opts, io)));

  program
    .command('init')
    .description('write a commented starter config for the five Lucid services')
    .argument('[dir]', 'folder to write lucid-gateway.config.yaml in', '.')
    .option('-f, --force', 'overwrite an existing config')
    .action(async (dir, opts) => setExit(await initCommand(dir, opts, io)));

  withConfig(program.command('token').description('mint a development JWT with the configured HS secret'))
    .requiredOption('-s, --sub <subject>', 'the token subject (user id)')
    .option('-t, --tier <tier>', 'the rate-limit tier claim')
    .option('--scopes <a,b>', 'scopes, comma-separated', list)
    .option('--ttl <duration>', 'lifetime, like 15m or 1h', '15m')
    .action(async (opts) => setExit(await tokenCommand(opts, io)));

  program
    .command('schema')
    .description('print the JSON Schema of the config (for editor autocomplete)')
    .option('-o, --out <file>', 'write it to a file')
    .action(async (opts) => setExit(await schemaCommand(opts, io)));

  return program;
}

/**
 * Runs the CLI. Resolves with the exit code, or `undefined` when a gateway is now serving
 * (signals end the process from then on).
 *
 * @example process.exitCode = await main(['node', 'lucid-gateway', 'validate'])
 */
export async function main(argv: string[] = process.argv, io: Io = processIo): Promise<number | undefined> {
  let code: number | undefined = EXIT.ok;
  const program = createProgram(io, (c) => {
    code = c;
  });
  try {
    await program.parseAsync(argv);
  } catch (err) {
    if (err instanceof CommanderError) return err.exitCode === 0 ? EXIT.ok : EXIT.usage;
    return reportError(io, err);
  }
  return code;
}
