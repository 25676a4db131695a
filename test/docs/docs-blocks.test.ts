import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ensureBuilt, REPO_DIR } from '@lucid/test-kit/cli';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { docsProblems } from './check-docs.js';
import { blocksOf, commandsOf, documentationBlocks, documentationFiles } from './markdown-blocks.js';

beforeAll(ensureBuilt, 180_000);

describe('every shell block and config example in the docs', () => {
  const blocks = documentationBlocks(REPO_DIR);

  it("covers README.md, docs/*.md and the examples' and packages' READMEs", () => {
    const files = documentationFiles(REPO_DIR);
    expect(files).toEqual(expect.arrayContaining(['README.md', 'docs/demo.md', 'docs/deploying.md']));
    expect(files).toEqual(
      expect.arrayContaining(['examples/standalone/README.md', 'examples/consul/README.md']),
    );
    expect(blocks.filter((b) => b.kind === 'shell').length).toBeGreaterThan(10);
    expect(blocks.filter((b) => b.kind === 'config').length).toBeGreaterThan(3);
  });

  it('parse, validate and are marked as they should be', async () => {
    expect(await docsProblems(blocks)).toEqual([]);
  }, 120_000);

  it('the README has its setup and its tour, and every npx line says where it works', () => {
    const readme = blocks.filter((b) => b.file === 'README.md');
    expect(readme.filter((b) => b.mode === 'setup')).toHaveLength(1);
    expect(readme.filter((b) => b.mode === 'tour')).toHaveLength(1);
    // In a clone nothing is installed from npm: the runnable lines use the root scripts.
    for (const b of blocks.filter((b) => b.kind === 'shell' && b.mode !== 'syntax-only')) {
      expect(b.text, `${b.file}:${b.line}`).not.toMatch(/\bnpx lucid-gateway\b/);
    }
  });
});

describe('the docs check fails on a broken copy', () => {
  let root: string;
  beforeAll(() => {
    root = mkdtempSync(join(tmpdir(), 'lucid-docs-broken-'));
    cpSync(join(REPO_DIR, 'README.md'), join(root, 'README.md'));
  });
  afterAll(() => rmSync(root, { recursive: true, force: true }));

  const problemsOf = async (markdown: string) => docsProblems(blocksOf(markdown, 'BROKEN.md'));

  it('the README with its YAML example naming a service it does not define', async () => {
    const readme = readFileSync(join(root, 'README.md'), 'utf8');
    const broken = readme.replace(
      '  - { prefix: /admin,    service: admin, scopes: [admin] }',
      '  - { prefix: /admin,    service: admn, scopes: [admin] }',
    );
    expect(broken).not.toBe(readme);
    writeFileSync(join(root, 'README.md'), broken);
    const problems = await docsProblems(documentationBlocks(root));
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatch(/^README\.md:\d+ \(yaml, config\): lucid-gateway validate exits 1/);
    expect(problems[0]).toMatch(/unknown service "admn"/);
  });

  it('a config that does not parse, and a key the schema does not know', async () => {
    const problems = await problemsOf(
      '```yaml\nserver: { port: 8080\n```\n\n```json\n{ "server": { "prot": 8080 } }\n```\n',
    );
    expect(problems).toHaveLength(2);
    expect(problems[0]).toMatch(/BROKEN\.md:1 \(yaml, config\): does not parse/);
    expect(problems[1]).toMatch(/BROKEN\.md:5 \(json, config\): lucid-gateway validate exits 1/);
  });

  it('a fragment whose section is wrong', async () => {
    const problems = await problemsOf(
      '<!-- docs-test: fragment -->\n```yaml\nrateLimit:\n  tiers: { free: 100/fortnight }\n```\n',
    );
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatch(/rateLimit\.tiers/);
  });

  it('a shell block that does not parse, even one marked syntax-only', async () => {
    const problems = await problemsOf(
      '<!-- docs-test: syntax-only (needs docker) -->\n```sh\ndocker run -p 8080:8080 "lucid-gateway\n```\n\n```sh\nif true; then echo\n```\n',
    );
    expect(problems).toHaveLength(2);
    expect(problems[0]).toMatch(/BROKEN\.md:2 \(sh, syntax-only\): not valid shell/);
    expect(problems[1]).toMatch(/BROKEN\.md:6 \(sh, run\): not valid shell/);
  });

  it('markers: an unknown mode, a syntax-only block without its reason, a marker on an unchecked block', async () => {
    const problems = await problemsOf(
      [
        '<!-- docs-test: skip -->\n```sh\nls\n```',
        '<!-- docs-test: syntax-only -->\n```sh\nls\n```',
        '<!-- docs-test: syntax-only (why) -->\n```ts\nconst x = 1;\n```',
      ].join('\n\n'),
    );
    expect(problems).toEqual([
      expect.stringMatching(/unknown docs-test mode "skip"/),
      expect.stringMatching(/says why it cannot run/),
      expect.stringMatching(/marker above a "ts" block/),
    ]);
  });
});

describe('commandsOf', () => {
  it('drops comments and blank lines and joins continuations', () => {
    expect(commandsOf('# a comment\n\necho a   # trailing\ndocker run \\\n  -p 1:1 \\\n  img\n')).toEqual([
      'echo a   # trailing',
      'docker run -p 1:1 img',
    ]);
  });
});
