import { spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BIN } from '@lucid/test-kit/cli';
import { parse as parseYaml } from 'yaml';
import type { DocBlock } from './markdown-blocks.js';

/** What documentation configs read from the environment, with values that pass. */
export const DOCS_ENV: Record<string, string> = {
  JWT_SECRET_KEY: 'a-documentation-secret-that-is-long-enough-0123456789',
  CONSUL_HTTP_TOKEN: 'documentation-token',
};

/** What a fragment (one section, as a package README shows it) is validated on top of. */
const FRAGMENT_BASE = {
  services: Object.fromEntries(
    ['auth', 'blockchain', 'sessions', 'nodes', 'admin', 'public', 'billing'].map((s, i) => [
      s,
      { targets: [`http://127.0.0.1:${18_000 + i}`] },
    ]),
  ),
  routes: [{ prefix: '/auth', service: 'auth', auth: 'public' }],
  // The config's own substitution, not JavaScript's.
  // biome-ignore lint/suspicious/noTemplateCurlyInString: a config placeholder
  auth: { jwt: { secret: '${JWT_SECRET_KEY}', issuer: 'lucid-auth', audience: 'lucid-api' } },
};

const where = (b: DocBlock) => `${b.file}:${b.line} (${b.lang}, ${b.mode})`;

/** `bash -n`: the block parses as a shell script. */
export function shellSyntaxProblem(block: DocBlock): string | undefined {
  const r = spawnSync('bash', ['-n'], { input: block.text, encoding: 'utf8' });
  return r.status === 0 ? undefined : `${where(block)}: not valid shell: ${r.stderr.trim()}`;
}

function parsed(block: DocBlock): unknown {
  return block.lang === 'json' ? JSON.parse(block.text) : parseYaml(block.text, { uniqueKeys: true });
}

/** The config a block stands for, as a file's text, or a parse problem. */
function configText(block: DocBlock): { text?: string; problem?: string } {
  let doc: unknown;
  try {
    doc = parsed(block);
  } catch (err) {
    return { problem: `${where(block)}: does not parse: ${(err as Error).message.split('\n')[0]}` };
  }
  if (block.mode !== 'fragment') return { text: block.text };
  const merged: Record<string, unknown> = structuredClone(FRAGMENT_BASE);
  for (const [key, value] of Object.entries((doc ?? {}) as Record<string, unknown>)) {
    const base = merged[key];
    const bothMaps =
      base && value && typeof base === 'object' && typeof value === 'object' && !Array.isArray(value);
    merged[key] = bothMaps ? { ...(base as object), ...(value as object) } : value;
  }
  return { text: JSON.stringify(merged, null, 2) };
}

/** Validates a config block with the built CLI (`lucid-gateway validate`), as a reader would. */
export async function configProblem(block: DocBlock): Promise<string | undefined> {
  if (block.mode === 'not-config') {
    try {
      parsed(block);
      return undefined;
    } catch (err) {
      return `${where(block)}: does not parse: ${(err as Error).message.split('\n')[0]}`;
    }
  }
  const { text, problem } = configText(block);
  if (problem) return problem;
  const dir = mkdtempSync(join(tmpdir(), 'lucid-docs-'));
  try {
    const ext = block.lang === 'json' || block.mode === 'fragment' ? 'json' : 'yaml';
    const file = join(dir, `lucid-gateway.config.${ext}`);
    writeFileSync(file, text!);
    const child = spawn(process.execPath, [BIN, 'validate', '--config', file], {
      cwd: dir,
      env: { PATH: process.env.PATH, HOME: process.env.HOME, ...DOCS_ENV },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (c: Buffer) => {
      output += c.toString();
    });
    child.stderr.on('data', (c: Buffer) => {
      output += c.toString();
    });
    const [code] = (await once(child, 'close')) as [number | null];
    return code === 0
      ? undefined
      : `${where(block)}: lucid-gateway validate exits ${code}:\n${output.trim()}`;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Every problem of these blocks that can be found without running them: markers, shell syntax, configs. */
export async function docsProblems(blocks: DocBlock[]): Promise<string[]> {
  const problems: string[] = blocks.flatMap((b) => b.problems.map((p) => `${where(b)}: ${p}`));
  for (const b of blocks) {
    if (b.kind === 'shell' && b.problems.length === 0) {
      const p = shellSyntaxProblem(b);
      if (p) problems.push(p);
    }
  }
  const configs = await Promise.all(blocks.filter((b) => b.kind === 'config').map(configProblem));
  problems.push(...configs.filter((p): p is string => p !== undefined));
  return problems;
}
