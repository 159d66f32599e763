/**
 * Launches Debian's Chromium (installed by scripts/setup-tools.sh) through playwright-core: headless, no sandbox
 * (containers), no background traffic, a fresh profile per run.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type BrowserContext, chromium } from 'playwright-core';

/** Path of the system Chromium. */
export const CHROMIUM = process.env.SIGIL_CHROMIUM ?? '/usr/bin/chromium';

/** A running browser with its own profile; `close` removes the profile. */
export interface TestBrowser {
  context: BrowserContext;
  close(): Promise<void>;
}

/**
 * Starts Chromium with a persistent (fresh, temporary) profile at a laptop-sized viewport; `timezoneId` (IANA)
 * sets the page's local time zone.
 */
export async function launchBrowser(o: { timezoneId?: string } = {}): Promise<TestBrowser> {
  const profile = mkdtempSync(join(tmpdir(), 'sigil-chromium-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    viewport: { width: 1440, height: 900 },
    ...(o.timezoneId ? { timezoneId: o.timezoneId } : {}),
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--no-first-run',
      '--disable-dev-shm-usage',
    ],
  });
  return {
    context,
    async close() {
      await context.close().catch(() => undefined);
      rmSync(profile, { recursive: true, force: true });
    },
  };
}
