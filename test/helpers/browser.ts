import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type BrowserContext, chromium } from 'playwright-core';

/** Debian's chromium; `.ci/run` installs it when it is missing. */
export const CHROMIUM = '/usr/bin/chromium';

/** Quiet, offline-friendly flags: nothing phones home, nothing needs a GPU or a sandbox. */
const ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--disable-quic',
  '--no-first-run',
];

export interface Browser {
  context: BrowserContext;
  /** Closes the browser and deletes its profile. */
  close(): Promise<void>;
}

/**
 * Starts headless chromium with a fresh profile (its own --user-data-dir, deleted on close).
 *
 * @example
 * const browser = await launchChromium({ viewport: { width: 390, height: 844 } });
 * const page = await browser.context.newPage();
 * try { await page.goto(url); } finally { await browser.close(); }
 */
export async function launchChromium(
  options: { viewport?: { width: number; height: number }; extraHTTPHeaders?: Record<string, string> } = {},
): Promise<Browser> {
  if (!existsSync(CHROMIUM)) {
    throw new Error(`${CHROMIUM} is missing: install it with "apt-get install -y chromium" (.ci/run does)`);
  }
  const profile = await mkdtemp(join(tmpdir(), 'lucid-chromium-'));
  let context: BrowserContext;
  try {
    // playwright passes the profile as --user-data-dir itself (it refuses the flag in `args`).
    context = await chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM,
      headless: true,
      args: ARGS,
      viewport: options.viewport ?? { width: 1280, height: 900 },
      ...(options.extraHTTPHeaders && { extraHTTPHeaders: options.extraHTTPHeaders }),
    });
  } catch (err) {
    await rm(profile, { recursive: true, force: true });
    throw err;
  }
  return {
    context,
    async close() {
      await context.close();
      await rm(profile, { recursive: true, force: true });
    },
  };
}
