import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type BrowserContext, chromium } from 'playwright-core';

/** Debian's chromium (`.ci/run` installs it); CHROMIUM_PATH points elsewhere. */
export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

// Headless, and quiet: no update checks, sync, field trials or QUIC probes leaving the machine,
// so a test can assert that every request the page makes stays on loopback.
const ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--disable-quic',
  '--disable-default-apps',
  '--disable-extensions',
  '--no-first-run',
  '--no-default-browser-check',
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
