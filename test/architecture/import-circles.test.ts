import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import madge from 'madge';
import { afterAll, describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('../../', import.meta.url));
const packages = readdirSync(join(root, 'packages'), { withFileTypes: true })
  .filter((d) => d.isDirectory())
  .map((d) => d.name);

/** Every import circle among a folder's TypeScript files, `import type` included; tests left out. */
async function circles(dir: string): Promise<string[][]> {
  const graph = await madge(dir, {
    fileExtensions: ['ts'],
    excludeRegExp: [/\.test\.ts$/, /\.d\.ts$/],
    tsConfig: join(root, 'tsconfig.json'),
    // Type-only imports tie modules together too (a types file that imports an implementation).
    detectiveOptions: { ts: { skipTypeImports: false }, tsx: { skipTypeImports: false } },
  });
  return graph.circular();
}

const scratch = mkdtempSync(join(tmpdir(), 'lucid-circles-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

describe('import circles', () => {
  it('are found when only types close them (the check sees what it must refuse)', async () => {
    writeFileSync(join(scratch, 'a.ts'), "import type { B } from './b.js';\nexport type A = { b?: B };\n");
    writeFileSync(join(scratch, 'b.ts'), "import type { A } from './a.js';\nexport type B = { a?: A };\n");
    expect(await circles(scratch)).toEqual([['a.ts', 'b.ts']]);
  });

  it.each(packages)('there are none in packages/%s/src', async (name) => {
    expect(await circles(join(root, 'packages', name, 'src'))).toEqual([]);
  });
});
