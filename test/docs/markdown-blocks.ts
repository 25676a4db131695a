import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';

/**
 * How a documentation block is checked, from a `<!-- docs-test: MODE (why) -->` line right above it.
 * Shell blocks: `run` (the default: executed in a fresh clone, from the document's folder), `setup` and
 * `tour` (the README's, run in order by the clone test), `syntax-only` (cannot run here: `bash -n`,
 * and the reason is required). Config blocks (yaml, json): `config` (the default: a whole config the
 * CLI must validate), `fragment` (sections validated on top of the five Lucid services),
 * `not-config` (parsed only).
 */
export type Mode = 'run' | 'setup' | 'tour' | 'syntax-only' | 'config' | 'fragment' | 'not-config';
export type Kind = 'shell' | 'config';

export interface DocBlock {
  /** The document, relative to the repository root. */
  file: string;
  /** 1-based line of the opening fence. */
  line: number;
  lang: string;
  kind: Kind;
  mode: Mode;
  reason: string | undefined;
  text: string;
  /** Wrong markers and the like, found while reading. */
  problems: string[];
}

const SHELL = new Set(['sh', 'bash', 'shell', 'console', 'zsh']);
const CONFIG = new Set(['yaml', 'yml', 'json']);
const MODES: Record<Kind, Mode[]> = {
  shell: ['run', 'setup', 'tour', 'syntax-only'],
  config: ['config', 'fragment', 'not-config'],
};
const MARKER = /^<!--\s*docs-test:\s*([\w-]+)\s*(?:\((.*)\))?\s*-->$/;

/** The shell and config blocks of one markdown text, with how each is to be checked. */
export function blocksOf(markdown: string, file: string): DocBlock[] {
  const lines = markdown.split('\n');
  const blocks: DocBlock[] = [];
  for (let i = 0; i < lines.length; i++) {
    const open = /^(\s*)(```+|~~~+)\s*([\w-]*)/.exec(lines[i]!);
    if (!open) continue;
    const [, indent, fence, lang = ''] = open;
    let end = i + 1;
    while (end < lines.length && !lines[end]!.trimStart().startsWith(fence!)) end++;
    const body = lines.slice(i + 1, end).map((l) => (l.startsWith(indent!) ? l.slice(indent!.length) : l));
    const kind: Kind | undefined = SHELL.has(lang) ? 'shell' : CONFIG.has(lang) ? 'config' : undefined;
    let prev = i - 1;
    while (prev >= 0 && lines[prev]!.trim() === '') prev--;
    const marker = prev >= 0 ? MARKER.exec(lines[prev]!.trim()) : null;
    if (kind) {
      const problems: string[] = [];
      let mode: Mode = kind === 'shell' ? 'run' : 'config';
      let reason: string | undefined;
      if (marker) {
        if ((MODES[kind] as string[]).includes(marker[1]!)) mode = marker[1] as Mode;
        else
          problems.push(
            `unknown docs-test mode "${marker[1]}" for a ${lang} block (one of ${MODES[kind].join(', ')})`,
          );
        reason = marker[2]?.trim() || undefined;
      }
      if (mode === 'syntax-only' && !reason) {
        problems.push(
          'a syntax-only block says why it cannot run: <!-- docs-test: syntax-only (needs ...) -->',
        );
      }
      blocks.push({ file, line: i + 1, lang, kind, mode, reason, text: `${body.join('\n')}\n`, problems });
    } else if (marker) {
      // A marker above a block nobody checks would promise a check that never happens.
      blocks.push({
        file,
        line: i + 1,
        lang,
        kind: 'shell',
        mode: 'syntax-only',
        reason: undefined,
        text: '',
        problems: [`a docs-test marker above a "${lang || 'plain'}" block, which is not checked`],
      });
    }
    i = end;
  }
  return blocks;
}

/** The documents whose blocks are checked: README.md, docs/*.md, examples/*\/README.md, packages/*\/README.md. */
export function documentationFiles(root: string): string[] {
  const files = [join(root, 'README.md')];
  const md = (dir: string) =>
    existsSync(dir)
      ? readdirSync(dir)
          .filter((f) => f.endsWith('.md'))
          .map((f) => join(dir, f))
      : [];
  files.push(...md(join(root, 'docs')));
  for (const parent of ['examples', 'packages']) {
    const dir = join(root, parent);
    if (!existsSync(dir)) continue;
    for (const sub of readdirSync(dir, { withFileTypes: true })) {
      const readme = join(dir, sub.name, 'README.md');
      if (sub.isDirectory() && existsSync(readme)) files.push(readme);
    }
  }
  return files.map((f) => relative(root, f)).sort();
}

/** Every checked block of the repository's documentation at `root`. */
export function documentationBlocks(root: string): DocBlock[] {
  return documentationFiles(root).flatMap((f) => blocksOf(readFileSync(join(root, f), 'utf8'), f));
}

/**
 * The commands of a shell block, one per entry: comments and blank lines dropped, `\` continuations
 * joined. (Enough for documentation: no heredocs.)
 */
export function commandsOf(text: string): string[] {
  const out: string[] = [];
  let pending = '';
  for (const raw of text.split('\n')) {
    const line = pending ? `${pending} ${raw.trim()}` : raw;
    if (line.trimEnd().endsWith('\\')) {
      pending = line.trimEnd().slice(0, -1).trimEnd();
      continue;
    }
    pending = '';
    if (line.trim() === '' || line.trim().startsWith('#')) continue;
    out.push(line.trim());
  }
  return out;
}
