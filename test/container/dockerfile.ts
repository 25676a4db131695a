import { readFileSync } from 'node:fs';
import { matchesGlob } from 'node:path';

export interface Instruction {
  /** Upper-case keyword: FROM, RUN, COPY, ... */
  op: string;
  /** Everything after the keyword, continuation lines joined. */
  args: string;
  line: number;
}

export interface Stage {
  /** The FROM line's image, with global ARG defaults substituted. */
  image: string;
  name: string | undefined;
  platform: string | undefined;
  instructions: Instruction[];
}

export interface Dockerfile {
  /** Global ARGs (before the first FROM) with their defaults. */
  args: Record<string, string>;
  stages: Stage[];
}

/** Reads a Dockerfile into stages of instructions: enough to check what matters without an engine. */
export function parseDockerfile(path: string): Dockerfile {
  const lines = readFileSync(path, 'utf8').split('\n');
  const instructions: Instruction[] = [];
  let pending: { text: string; line: number } | undefined;
  lines.forEach((raw, i) => {
    const trimmed = raw.trim();
    // Comments and blank lines end nothing: Docker drops them even inside a continued instruction.
    if (trimmed === '' || trimmed.startsWith('#')) return;
    const continued = trimmed.endsWith('\\');
    const text = continued ? trimmed.slice(0, -1).trimEnd() : trimmed;
    pending = pending ? { text: `${pending.text} ${text}`, line: pending.line } : { text, line: i + 1 };
    if (continued) return;
    const m = /^(\S+)\s*(.*)$/.exec(pending.text)!;
    instructions.push({ op: m[1]!.toUpperCase(), args: m[2]!, line: pending.line });
    pending = undefined;
  });

  const args: Record<string, string> = {};
  const stages: Stage[] = [];
  for (const ins of instructions) {
    if (ins.op === 'FROM') {
      const words = ins.args.split(/\s+/);
      const platform = words.find((w) => w.startsWith('--platform='))?.slice('--platform='.length);
      const rest = words.filter((w) => !w.startsWith('--'));
      const image = rest[0]!.replace(/\$\{?(\w+)\}?/g, (_m, name: string) => args[name] ?? `\${${name}}`);
      const name = rest[1]?.toUpperCase() === 'AS' ? rest[2] : undefined;
      stages.push({ image, name, platform, instructions: [] });
    } else if (stages.length === 0) {
      if (ins.op === 'ARG') {
        const [name, value = ''] = ins.args.split('=');
        args[name!.trim()] = value.trim();
      }
    } else {
      stages.at(-1)!.instructions.push(ins);
    }
  }
  return { args, stages };
}

/** An exec-form (JSON array) argument list, or undefined for the shell form. */
export function execForm(args: string): string[] | undefined {
  if (!args.trim().startsWith('[')) return undefined;
  return JSON.parse(args) as string[];
}

/**
 * Whether the build context leaves `file` out, as Docker reads .dockerignore: each pattern matches
 * the path or one of its parent folders, `!` re-includes, and the last matching pattern wins.
 */
export function ignoredBy(patterns: string[], file: string): boolean {
  const parts = file.split('/');
  const candidates = parts.map((_p, i) => parts.slice(0, i + 1).join('/'));
  let ignored = false;
  for (const raw of patterns) {
    const negated = raw.startsWith('!');
    const pattern = (negated ? raw.slice(1) : raw).replace(/^\/+/, '').replace(/\/+$/, '');
    if (candidates.some((c) => matchesGlob(c, pattern))) ignored = !negated;
  }
  return ignored;
}

/** The patterns of a .dockerignore file (comments and blank lines dropped). */
export function readDockerignore(path: string): string[] {
  return readFileSync(path, 'utf8')
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '' && !l.startsWith('#'));
}
