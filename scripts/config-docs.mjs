// Renders docs/config.md from the config's one schema (core's composed with the plugins the CLI wires;
// the rendering is core's `configReference`), so the reference cannot drift from what is accepted.
//   node scripts/config-docs.mjs          write docs/config.md
//   node scripts/config-docs.mjs --check  exit 1 when docs/config.md is stale
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));

export async function renderConfigDocs() {
  const { configReference } = await import(`${root}packages/core/dist/index.js`);
  const { cliSchema } = await import(`${root}packages/cli/dist/index.js`);
  return configReference(cliSchema);
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const text = await renderConfigDocs();
  const file = `${root}docs/config.md`;
  if (process.argv.includes('--check')) {
    const current = (() => {
      try {
        return readFileSync(file, 'utf8');
      } catch {
        return '';
      }
    })();
    if (current !== text) {
      console.error('docs/config.md is stale: run node scripts/config-docs.mjs');
      process.exit(1);
    }
  } else {
    writeFileSync(file, text);
    console.log(`wrote ${file}`);
  }
}
