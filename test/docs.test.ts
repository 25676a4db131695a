import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';

describe('docs/config.md', () => {
  it('is what the config schema renders (regenerate with node scripts/config-docs.mjs)', async () => {
    // @ts-expect-error: a plain .mjs script without types
    const { renderConfigDocs } = await import('../scripts/config-docs.mjs');
    const committed = readFileSync(new URL('../docs/config.md', import.meta.url), 'utf8');
    expect(committed).toBe(await renderConfigDocs());
  });
});
