import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { chromium, type BrowserContext, type Page } from 'playwright-core';

declare global {
  // Set by jest.config.js for the browser project: Debian's Chromium.
  var CHROMIUM_PATH: string;
}

/** For CDP's WebAuthn.addVirtualAuthenticator: a platform authenticator that keeps passkeys and verifies its user (Touch ID, Windows Hello). */
export const PLATFORM_AUTHENTICATOR = {
  protocol: 'ctap2',
  transport: 'internal',
  hasResidentKey: true,
  hasUserVerification: true,
  isUserVerified: true,
  automaticPresenceSimulation: true,
} as const;

export interface Chromium {
  context: BrowserContext;
  /** Closes the browser and deletes its profile. */
  close(): Promise<void>;
}

/** Debian's Chromium, headless, with a profile of its own that close() deletes. */
export async function launchChromium(
  options: { viewport?: { width: number; height: number } } = {},
): Promise<Chromium> {
  const userDataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'hasura-auth-chromium-'));
  const context = await chromium.launchPersistentContext(userDataDir, {
    executablePath: globalThis.CHROMIUM_PATH,
    headless: true,
    ...options,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking'],
  });
  return {
    context,
    async close() {
      await context.close();
      fs.rmSync(userDataDir, { recursive: true, force: true });
    },
  };
}

/**
 * A new tab whose console errors (Content-Security-Policy violations among them) and script
 * errors are pushed to `errors`, for a suite to fail on after each test.
 */
export async function watchedTab(context: BrowserContext, errors: string[]): Promise<Page> {
  const page = await context.newPage();
  page.on('console', (message) => {
    // A page answered with an error status (a wrong password's 401) is logged too: not a fault of the page.
    if (message.type() === 'error' && !message.text().startsWith('Failed to load resource'))
      errors.push(message.text());
  });
  page.on('pageerror', (error) => errors.push(error.message));
  return page;
}
